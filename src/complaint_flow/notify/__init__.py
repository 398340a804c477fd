"""Notifications: the outbox dispatcher and the built-in notifiers."""
