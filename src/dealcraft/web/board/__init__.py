"""board pages."""
