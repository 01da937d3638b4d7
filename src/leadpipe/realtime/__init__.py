"""Live events: what changed in a workspace, for the dashboards watching it."""
