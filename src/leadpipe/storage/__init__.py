"""Persistence: models, portable types, engine and transactions."""
