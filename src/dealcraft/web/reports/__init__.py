"""The report pages: `/reports/` and `/reports/<name>/`."""
