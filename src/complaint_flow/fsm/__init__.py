"""State machines: workflow and conduct definitions compiled into shared transitions machines."""
