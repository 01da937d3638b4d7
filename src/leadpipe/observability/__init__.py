"""Logs, metrics and readiness: what operators watch."""
