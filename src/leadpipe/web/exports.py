"""How many CSV exports a workspace runs at once, and the streamed answer that counts one
until it has ended, however it ends: shared with the API's exports (``leadpipe.exports``)."""

from __future__ import annotations

from leadpipe.exports.streaming import RETRY_EXPORT_AFTER, ExportResponse, start_export

__all__ = ["RETRY_EXPORT_AFTER", "ExportResponse", "start_export"]
