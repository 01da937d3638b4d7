"""CSV import of leads: every row through the submission command."""
