"""Foreign-id cases for tests/test_ownership.py: canteen routes (anti-waste).

The intruders who matter: another canteen's operator (its manager), and the diner who
checked in (who may see the check-in but not review it)."""

from __future__ import annotations

from decimal import Decimal

from app.auth import Principal
from app.extensions import db
from blueprints.canteen import checkins, waste
from models.canteen import CleanPlateCheckin, WasteEntry
from tests.canteen.conftest import build_kitchen
from tests.canteen.waste_helpers import DAY, LUNCH_TIME, add_station, at, booking, photo, scene_of
from tests.test_ownership import case


def _pending(make):
    kitchen = build_kitchen(make)
    station = add_station(kitchen)
    diner = make.user()
    checkin = checkins.check_in(Principal.for_user(diner), booking(kitchen, diner).id, scene_of(station),
                                photo(diner).id, now=LUNCH_TIME, sample=lambda: 0.0)
    db.session.commit()
    return kitchen, diner, checkin.id


def _still_pending(checkin_id):
    def check():
        row = db.session.get(CleanPlateCheckin, checkin_id)
        assert (row.status, row.reviewed_by_id, row.reject_reason) == ("pending_review", None, None)
    return check


@case("POST", "/api/v1/canteen/checkins/<int:checkin_id>/approve")
def _checkin_approve(make):
    _kitchen, _diner, checkin_id = _pending(make)
    intruder = build_kitchen(make, "别家食堂").manager
    return make.headers(intruder), f"/api/v1/canteen/checkins/{checkin_id}/approve", None, _still_pending(checkin_id)


@case("POST", "/api/v1/canteen/checkins/<int:checkin_id>/reject")
def _checkin_reject(make):
    _kitchen, diner, checkin_id = _pending(make)
    return (make.headers(diner), f"/api/v1/canteen/checkins/{checkin_id}/reject", {"reason": "自己驳回"},
            _still_pending(checkin_id))


@case("POST", "/api/v1/canteen/waste/<int:entry_id>/correct")
def _waste_correct(make):
    kitchen = build_kitchen(make)
    entry = waste.add_waste(Principal.for_user(kitchen.worker), kitchen.lunch.id, DAY, "plate", Decimal("2.00"),
                            now=at(DAY, 21))
    db.session.commit()
    entry_id = entry.id
    intruder = build_kitchen(make, "别家食堂").manager

    def check():
        assert [(e.id, e.kg) for e in db.session.query(WasteEntry).all()] == [(entry_id, Decimal("2.00"))]
    return make.headers(intruder), f"/api/v1/canteen/waste/{entry_id}/correct", {"kg": 1, "note": "改"}, check
