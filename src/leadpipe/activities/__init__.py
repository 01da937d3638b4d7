"""Activities domain."""
