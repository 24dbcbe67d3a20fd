"""Forecasting: categories, submissions and roll-ups, methods, snapshots and the accuracy ledger."""
