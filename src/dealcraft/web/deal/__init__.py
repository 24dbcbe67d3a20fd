"""deal pages."""
