"""The discovery and solution workspaces on the deal page."""
