"""The inbound queue (seed 001): new leads with their contacts, and its metrics."""
