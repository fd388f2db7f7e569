"""Time for the generator: integer microseconds, and dates as people write them.

Timestamps are kept as integer microseconds since the epoch (naive UTC) from
draw to Parquet: integers are cheap to draw and compare, and Arrow turns a
list of them into ``timestamp[us]`` without building ``datetime`` objects.
Only dates that appear inside text are formatted, from a per-day cache.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

__all__ = [
    "DEFAULT_REFERENCE_TIME",
    "WINDOW_US",
    "DAY_US",
    "naive_utc",
    "to_us",
    "day_text",
    "day_compact",
    "day_numeric",
]

DEFAULT_REFERENCE_TIME = datetime(2026, 11, 1)
DAY_US = 86_400_000_000
#: All generated timestamps fall in the 120 days before the reference time.
WINDOW_US = 120 * DAY_US
_EPOCH = datetime(1970, 1, 1)


def naive_utc(moment: datetime) -> datetime:
    """The moment as a naive UTC datetime (aware datetimes are converted)."""
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive-UTC (or aware) datetime."""
    return (naive_utc(moment) - _EPOCH) // timedelta(microseconds=1)


@lru_cache(maxsize=4096)
def _day(day: int) -> tuple[str, str, str]:
    d = _EPOCH + timedelta(days=day)
    return f"{d:%a}, {d.day} {d:%b %Y}", f"{d:%Y%m%d}", f"{d:%d/%m/%Y}"


def day_text(us: int) -> str:
    """``Mon, 3 Nov 2025``: the form mail clients use in reply headers."""
    return _day(us // DAY_US)[0]


def day_compact(us: int) -> str:
    """``20251009``: the form field engineers use in partner notes."""
    return _day(us // DAY_US)[1]


def day_numeric(us: int) -> str:
    """``09/10/2025``-style short date for notes."""
    return _day(us // DAY_US)[2]
