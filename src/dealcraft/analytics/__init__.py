"""Read-only analytics over deals and their stage history: reports and, later, forecasts."""
