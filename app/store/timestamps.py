"""Timestamps in the store: always UTC, stored as fixed-width ISO 8601 text.

Fixed width (microseconds and a trailing Z) makes text order equal time order,
so indexes on these columns sort chronologically, and the file stays readable
with the sqlite3 shell.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """Store form of an aware datetime (naive ones are refused: their zone is unknown)."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    moment = moment.astimezone(UTC)
    if moment.year < 1000:
        # strftime would not pad the year, and the fixed width is what keeps text order = time order.
        raise ValueError("timestamps before the year 1000 are not supported")
    return moment.strftime(_FORMAT)


def from_text(text: str) -> datetime:
    """Parse a stored or exported timestamp; a timestamp without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def now_text() -> str:
    return to_text(utc_now())
