"""The one clock every service reads "now" from.

Times in hotline are naive datetimes in the city's local time (Asia/Shanghai, which has
no daylight saving): working days, working hours and ticket numbers are all local
notions, and storing local time keeps deadline arithmetic exact. Tests set the clock
instead of sleeping.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self) -> None:
        self._fixed: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        fixed = self._fixed
        if fixed is not None:
            return fixed
        return datetime.now(TZ).replace(tzinfo=None, microsecond=0)

    def set(self, when: datetime) -> None:
        """Freeze the clock at `when` (naive local time)."""
        with self._lock:
            self._fixed = when.replace(tzinfo=None)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._fixed = (self._fixed or self.now()) + delta
            return self._fixed

    def reset(self) -> None:
        with self._lock:
            self._fixed = None

    @property
    def frozen(self) -> bool:
        return self._fixed is not None


clock = Clock()


def now() -> datetime:
    return clock.now()
