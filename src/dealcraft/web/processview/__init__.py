"""processview pages."""
