"""Analytics: read-only aggregates (inbound queue metrics)."""
