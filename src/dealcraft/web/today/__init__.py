"""today pages."""
