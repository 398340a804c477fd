"""The store contract, the commit, and the built-in stores."""
