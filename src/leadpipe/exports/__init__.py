"""Exports of a workspace's leads, contacts and activities, streamed page by page as CSV or
JSON lines: the API's ``/api/v3/exports/...``, ``leadpipe export`` and the dashboard's CSV."""
