"""Entities and values: what a complaint, an event, a customer and a conduct record are."""
