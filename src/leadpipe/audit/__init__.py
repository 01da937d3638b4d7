"""The audit log: who did what to whose data, without the data."""
