"""How the command line shows things: rich tables, panels, timelines and times.

Nothing here reads a store or prints: each function turns values into text or a
renderable that a command prints.
"""
