"""Tasks: a lead's next steps, due at a time, for a user of the workspace."""
