"""The import page for revenue operations: upload, mapping, preview, progress, result."""
