"""The working calendar: only the exceptions to the weekday rule (Monday to Friday work).

A day is either a public holiday (`holiday`, e.g. 国庆节; a weekday off, or a weekend day
inside a holiday block, listed so it has a name) or a 调休 make-up workday (`workday`: a
Saturday or Sunday that is worked). Arithmetic on it lives in app/workcalendar.py."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from models.identity import in_check

# kind: Chinese label
CALENDAR_KINDS: dict[str, str] = {"holiday": "节假日", "workday": "调休上班"}


class CalendarDay(Base):
    __tablename__ = "calendar_day"
    __table_args__ = (
        UniqueConstraint("day"),
        CheckConstraint(in_check("kind", CALENDAR_KINDS), name="kind"),
        # ISO day of week 6 and 7: Saturday and Sunday.
        CheckConstraint("kind <> 'workday' OR EXTRACT(ISODOW FROM day) IN (6, 7)", name="workday_weekend"),
        CheckConstraint("btrim(name) <> ''", name="name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def is_workday(self) -> bool:
        return self.kind == "workday"

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name}"
