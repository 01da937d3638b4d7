"""A person\x27s data: all of it in one export, and erased on request."""
