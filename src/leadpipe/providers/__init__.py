"""Lead providers: their credentials, usage and stats, and their admin API."""
