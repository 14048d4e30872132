"""The anti-waste panel views (scoped to the manager's canteens; review actions) and the demo step."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth import Principal
from app.demo import DEMO_STEPS
from app.extensions import db
from blueprints.canteen import checkins
from models.canteen import CleanPlateCheckin, DinerCount, WasteEntry
from tests.canteen.conftest import build_kitchen
from tests.canteen.waste_helpers import LUNCH_TIME, add_station, booking, photo, scene_of
from tests.support.admin import PASSWORD, login


def _pending(kitchen, diner):
    station = add_station(kitchen)
    checkin = checkins.check_in(Principal.for_user(diner), booking(kitchen, diner).id, scene_of(station),
                                photo(diner).id, now=LUNCH_TIME, sample=lambda: 0.0)
    db.session.commit()
    return checkin


def test_manager_reviews_own_canteen_in_the_panel(client, make, kitchen):
    other = build_kitchen(make, "第二食堂")
    mine = _pending(kitchen, make.user())
    theirs = _pending(other, make.user())
    manager = make.user("canteen_manager", company=kitchen.company, password=PASSWORD)
    assert login(client, manager).status_code == 302
    listing = client.get("/admin/antiwaste/checkins/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert f"thumbnail/?id={mine.id}" in html and f"thumbnail/?id={theirs.id}" not in html
    thumb = client.get(f"/admin/antiwaste/checkins/thumbnail/?id={mine.id}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert client.get(f"/admin/antiwaste/checkins/thumbnail/?id={theirs.id}").status_code == 404
    assert client.post(f"/admin/antiwaste/checkins/reject/?id={theirs.id}", data={"reason": "x"}).status_code == 404
    done = client.post(f"/admin/antiwaste/checkins/reject/?id={mine.id}", data={"reason": "盘中有剩菜"})
    assert done.status_code == 302
    db.session.expire_all()
    assert (db.session.get(CleanPlateCheckin, mine.id).status, db.session.get(CleanPlateCheckin, theirs.id).status
            ) == ("rejected", "pending_review")
    again = client.post(f"/admin/antiwaste/checkins/approve/?id={mine.id}", data={})
    assert again.status_code == 409
    assert client.get("/admin/antiwaste/waste/").status_code == 200
    assert client.get("/admin/antiwaste/diner-counts/").status_code == 200


def test_auditor_reads_but_cannot_review(client, make, kitchen):
    pending = _pending(kitchen, make.user())
    auditor = make.user("auditor", password=PASSWORD)
    assert login(client, auditor).status_code == 302
    assert client.get("/admin/antiwaste/checkins/").status_code == 200
    assert client.post(f"/admin/antiwaste/checkins/approve/?id={pending.id}", data={}).status_code == 403
    db.session.expire_all()
    assert db.session.get(CleanPlateCheckin, pending.id).status == "pending_review"


def test_demo_step(app):
    from app.demo import seed_demo

    assert "blueprints.canteen.demo_waste:seed" in DEMO_STEPS
    seed_demo()
    counts = dict(db.session.execute(select(CleanPlateCheckin.status, func.count())
                                     .group_by(CleanPlateCheckin.status)).all())
    assert db.session.execute(select(func.count()).select_from(CleanPlateCheckin)).scalar() >= 5
    assert counts.get("pending_review") == 1 and counts.get("rejected") == 1, counts
    rejected = db.session.execute(select(CleanPlateCheckin).where(CleanPlateCheckin.status == "rejected")
                                  ).scalar_one()
    assert rejected.reject_reason == "照片中餐盘仍有较多剩菜"
    assert checkins.points_reversed(rejected) == (rejected.points_transaction_id is not None)
    assert db.session.execute(select(func.count()).select_from(DinerCount)).scalar() > 0
    assert db.session.execute(select(func.count()).where(WasteEntry.corrects_id.is_not(None))).scalar() == 1
    before = db.session.execute(select(func.count()).select_from(CleanPlateCheckin)).scalar()
    seed_demo()
    assert db.session.execute(select(func.count()).select_from(CleanPlateCheckin)).scalar() == before
