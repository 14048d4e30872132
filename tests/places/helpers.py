"""Helpers for the places tests: places made directly, the administrator's headers, a
calendar loaded through the service."""

from __future__ import annotations

from app.extensions import db
from models import Place

API = "/api/v1"


def make_place(kind: str, name: str, parent: Place | None = None, code: str | None = None,
               active: bool = True, sort_order: int = 0) -> Place:
    place = Place(kind=kind, name=name, parent=parent, code=code, is_active=active, sort_order=sort_order)
    db.session.add(place)
    db.session.commit()
    return place


def tree(*, active: bool = True) -> dict[str, Place]:
    """行政中心主楼 / 3层 / 301会议室 and friends."""
    main = make_place("building", "行政中心主楼", code="ZL", sort_order=1)
    annex = make_place("building", "综合楼", code="ZH", sort_order=2)
    f3 = make_place("floor", "3层", main, code="ZL-3", sort_order=3)
    f1 = make_place("floor", "1层", main, code="ZL-1", sort_order=1)
    r301 = make_place("room", "301会议室", f3, code="ZL-301")
    hall = make_place("area", "大厅", main)
    canteen = make_place("area", "职工食堂", make_place("floor", "1层", annex))
    return {"main": main, "annex": annex, "f3": f3, "f1": f1, "r301": r301, "hall": hall, "canteen": canteen}
