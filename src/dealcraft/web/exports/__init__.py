"""Downloads of deals and their records as CSV or XLSX, from the deal list and the board."""
