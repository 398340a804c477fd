"""Configuration: workflows, calendars, deadline clocks, escalation ladders, remedies, packs."""
