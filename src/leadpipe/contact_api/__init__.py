"""The contact API (seed 000): contacts with their leads, created, searched, changed."""
