"""The REST API, mounted at `/api/v1/` (see docs/api.md)."""
