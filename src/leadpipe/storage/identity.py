"""Which installation this is, for what it keeps in a Redis that others may share."""

from __future__ import annotations

import hashlib

from leadpipe.config import Settings
from leadpipe.storage.connect import normalize_url


def installation_id(settings: Settings) -> str:
    """What this installation's keys and channels in a shared Redis start with:
    ``LEADPIPE_INSTALLATION_ID``, else a digest of the database it uses (its URL without
    the password, so that a rotated password is still the same installation). Workers of
    one installation share one database, and so one id."""
    if settings.installation_id:
        return settings.installation_id
    database = normalize_url(settings.database_url).render_as_string(hide_password=True)
    return hashlib.sha256(database.encode()).hexdigest()[:16]
