"""Forecast pages."""
