"""The buyers: accounts (companies) and contacts (people at them)."""
