"""The stop procedure: a customer's conduct record, restrictions and their review."""
