"""The process file as stored: every applied version, and which one is active."""
