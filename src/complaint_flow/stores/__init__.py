"""Built-in stores: ``memory://`` and ``sqlite:///path``."""
