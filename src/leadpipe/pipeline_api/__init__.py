"""The pipeline API: the overview, and managing stages (moving their leads with them)."""
