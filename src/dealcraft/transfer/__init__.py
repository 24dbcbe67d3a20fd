"""Moving data out of and back into dealcraft: exports, and backup and restore."""
