"""Time: stored in UTC, business rules in Asia/Shanghai, ISO 8601 with offsets on the wire."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local(dt: datetime) -> datetime:
    """The same instant in Asia/Shanghai (for business rules and display)."""
    return dt.astimezone(SHANGHAI)
