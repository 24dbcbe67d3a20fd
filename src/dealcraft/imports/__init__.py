"""Imports from other CRMs and from any CSV: read, map, check, then write all or nothing."""
