"""Discovery and solution workspace records (see the package docstring)."""
