"""Webhooks: their configuration, presets, signatures and secrets, and their admin API."""
