"""dealcraft: deal desk and sales-process management."""
