"""The dashboard: server-rendered pages (Jinja2) for agents and managers."""
