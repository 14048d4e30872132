"""The gate sweep: visits whose window ended before anyone came expire; a visitor still inside
after the window is flagged once, and the host and every active guard are told once, however
often (and from however many processes at once) the sweep runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.timeutil import SHANGHAI
from blueprints.visitors import gate
from models.notifications import InAppMessage
from models.platform import OrderTransition
from models.visitors import Visit
from tests.support.procs import run_at_once
from tests.visitors.conftest import make_visit

NOW = datetime(2030, 6, 3, 18, 0, tzinfo=SHANGHAI)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 6, 3, hour, minute, tzinfo=SHANGHAI)


def visit(make, host, status, start, end, name="王访客") -> int:
    return make_visit(make, host, status=status, starts_at=start, ends_at=end, name=name).visits[0].id


def states() -> dict[int, tuple[str, datetime | None]]:
    db.session.expire_all()
    return {v.id: (v.status, v.overstay_flagged_at) for v in db.session.execute(select(Visit)).scalars()}


def notices(template: str) -> dict[int, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(InAppMessage.user_id, func.count()).where(InAppMessage.template == template)
                                   .group_by(InAppMessage.user_id)).all())


def test_sweep_expires_and_flags_overstays_once(app, make, visit_clock):
    host = make.user(name="张主任")
    guards = [make.user("guard", company=make.company("security")) for _ in range(2)]
    retired = make.user("guard", company=make.company("security"))
    retired.is_active = False
    db.session.commit()
    ended = {s: visit(make, host, s, at(9), at(11)) for s in ("invited", "pending", "held", "approved")}
    running = visit(make, host, "approved", at(17), at(19))
    overstay = visit(make, host, "inside", at(14), at(17, 30), name="李超时")
    inside_ok = visit(make, host, "inside", at(17), at(19))
    left = visit(make, host, "left", at(9), at(10))
    cancelled = visit(make, host, "cancelled", at(9), at(10))

    assert gate.run_gate_sweep(NOW) == {"expired": 4, "overstays": 1}
    after = states()
    assert all(after[v][0] == "expired" for v in ended.values())
    assert after[running] == ("approved", None) and after[inside_ok] == ("inside", None)
    assert after[overstay][0] == "inside" and after[overstay][1] == NOW
    assert after[left] == ("left", None) and after[cancelled] == ("cancelled", None)
    expired_by = db.session.execute(select(OrderTransition.actor_id, OrderTransition.from_state).where(
        OrderTransition.transition == "expire").order_by(OrderTransition.order_id)).all()
    assert [tuple(r) for r in expired_by] == [(None, "invited"), (None, "pending"), (None, "held"), (None, "approved")]
    told = notices("visit_overstay")
    assert told == {host.id: 1, guards[0].id: 1, guards[1].id: 1}  # not the disabled guard
    message = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == host.id,
                                                            InAppMessage.template == "visit_overstay")).scalar_one()
    assert "李超时" in message.title and "17:30" in message.body

    # again, and later: nothing twice
    assert gate.run_gate_sweep(NOW) == {"expired": 0, "overstays": 0}
    assert gate.run_gate_sweep(NOW + timedelta(minutes=30)) == {"expired": 0, "overstays": 0}
    assert notices("visit_overstay") == told
    assert states()[overstay][1] == NOW

    # once the running visit ends it expires too; the registered form counts the changes
    visit_clock(at(19, 1))
    assert gate.gate_sweep() == 2  # the running visit expires, the second inside one overstays
    assert states()[running][0] == "expired" and states()[inside_ok][1] == at(19, 1)


def sweep_worker(now_iso: str, barrier, results) -> None:
    """Build the app as another process would, wait for the other, run the sweep once."""
    try:
        from sqlalchemy import text

        from app.extensions import db
        from blueprints.visitors import gate
        from tests.support.procs import app_from_env

        with app_from_env().app_context():
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
            barrier.wait(timeout=60)
            results.put(gate.run_gate_sweep(datetime.fromisoformat(now_iso)))
    except Exception as exc:  # report, never leave the parent waiting
        results.put(repr(exc))


def test_two_processes_sweeping_at_once_change_each_visit_once(app, make):
    host = make.user()
    guard = make.user("guard", company=make.company("security"))
    expiring = [visit(make, host, "approved", at(9), at(10) + timedelta(seconds=i)) for i in range(1, 61)]
    overstays = [visit(make, host, "inside", at(9), at(11) + timedelta(seconds=i)) for i in range(1, 16)]
    outcomes = run_at_once(sweep_worker, [(NOW.isoformat(),), (NOW.isoformat(),)])
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sum(o["expired"] for o in outcomes) == len(expiring)
    assert sum(o["overstays"] for o in outcomes) == len(overstays)
    after = states()
    assert all(after[v][0] == "expired" for v in expiring)
    assert all(after[v][1] == NOW for v in overstays)
    assert db.session.execute(select(func.count()).select_from(OrderTransition)
                              .where(OrderTransition.transition == "expire")).scalar() == len(expiring)
    assert notices("visit_overstay") == {host.id: len(overstays), guard.id: len(overstays)}
