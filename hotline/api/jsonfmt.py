"""JSON as the API writes it: moments in ISO 8601 with the city's offset
("2026-11-23T09:30:00+08:00"; the hotline stores naive local time, see hotline.clock),
dates as "2026-11-23". Flask's default writes HTTP dates ("Mon, 23 Nov 2026 09:30:00 GMT"),
which mislabel local time as GMT and which JSON Schema's date-time does not accept."""
from __future__ import annotations

from datetime import date, datetime

from flask.json.provider import DefaultJSONProvider

from hotline.clock import TZ


def iso(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=TZ)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class IsoJSONProvider(DefaultJSONProvider):
    default = staticmethod(iso)
    ensure_ascii = False  # Chinese text as it is
