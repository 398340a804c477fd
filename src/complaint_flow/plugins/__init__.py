"""Hooks, the plugin manager and the default plugins."""
