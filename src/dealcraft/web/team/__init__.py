"""team pages."""
