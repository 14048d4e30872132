"""The gate (访客通行): the visitor's pass, check-in and check-out, the guards' lists, reading a
whole ID number, and the sweep that expires missed visits and flags overstays. Plain
functions (no `request`); they write inside the caller's transaction and the route commits
(the sweep commits its own short transactions).

Check-in and check-out are the VISIT transitions `check_in` (approved → inside) and
`check_out` (inside → left), made by a guard either by scanning the visitor's pass
(`POST /api/v1/passes/verify`, app/qrpass.py: the pass names the state it was issued in, so a
second scan of one screen is 409 INVALID_TRANSITION) or at the gate for a walk-in or a
visitor without the mini-program (`check_in` / `check_out` here; check-in applies the same
window as the pass). Whichever way, the receiver of `order_transitioned` below records who and
when on the visit (`checked_in_at`/`checked_in_by_id`, `checked_out_at`/`checked_out_by_id`)
and tells the host of the arrival, in the same transaction as the transition.

The sweep (`run_gate_sweep`) handles each due visit in its own short transaction: `expire`
(a conditional transition: a visit another process moved first is skipped) for visits whose
window ended before anyone checked in, and the overstay flag (a conditional UPDATE of
`overstay_flagged_at IS NULL`: one flag, one set of notices, however many sweeps run at once)
for visitors still inside after the window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app import audit, crypto
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.lifecycle import SYSTEM, order_transitioned
from app.notify import notify, register_templates
from app.timeutil import SHANGHAI, local
from blueprints.visitors import personal, rules
from blueprints.visitors.rules import VISIT
from models import RoleGrant, User
from models.visitors import Visit, VisitApplication, VisitCompanion

register_codes({
    "VISIT_ID_NOT_STORED": (404, "没有可查看的证件号码（未登记或已清除）",
                            "Visitors: the application or companion holds no ID number (none given, or "
                            "anonymised)."),
})

register_templates({
    # Context: visitor, company, when, at, guard, application_id.
    "visit_checked_in": {
        "template_id": "", "title": "访客已到：{visitor}",
        "body": "{visitor}{company}已于 {at:%H:%M} 入场（预约 {when}），请做好接待。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{at}", "phrase3": "已入场"},
        "long_term": False,
    },
    # Context: visitor, company, host, when, ends_at, application_id.
    "visit_overstay": {
        "template_id": "", "title": "访客超时未离开：{visitor}",
        "body": "{visitor}{company}（被访人：{host}）的来访已于 {ends_at:%H:%M} 结束，目前仍在访，请核实。",
        "page": "pages/visitors/gate",
        "fields": {"name1": "{visitor}", "time2": "{ends_at}", "phrase3": "超时在访"},
        "long_term": False,
    },
})

# Visits the gate expects on a day: not yet decided, approved, or already inside.
EXPECTED_STATES = ("approved", "pending", "held", "inside")
# States the expiry sweep moves to `expired` once the window is over.
EXPIRING_STATES = ("invited", "pending", "held", "approved")
BATCH = 500


def _now(now: datetime | None = None) -> datetime:
    return now or rules.clock()


# --- reading ---------------------------------------------------------------------------------

def get_visit(actor: Principal, visit_id: int) -> Visit:
    """A visit the actor may see (rules.can_see); else NOT_FOUND."""
    visit = get_row(Visit, visit_id)
    ensure_visible(visit is not None and rules.can_see(actor, visit))
    return visit


def when_text(visit: Visit) -> str:
    """"6月3日 09:00-11:00" (the end's date too when the window runs past midnight)."""
    start, end = local(visit.starts_at), local(visit.ends_at)
    tail = end.strftime("%H:%M") if end.date() == start.date() else f"{end.month}月{end.day}日 {end:%H:%M}"
    return f"{start.month}月{start.day}日 {start:%H:%M}-{tail}"


def _gate_query():
    return (select(Visit).join(VisitApplication, VisitApplication.id == Visit.application_id)
            .options(joinedload(Visit.application).joinedload(VisitApplication.host_department),
                     joinedload(Visit.application).selectinload(VisitApplication.companions),
                     joinedload(Visit.host)))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, SHANGHAI)
    return start, datetime.combine(day + timedelta(days=1), time.min, SHANGHAI)


def expected_query(day: date | None = None, status: str | None = None, now: datetime | None = None):
    """Visits whose window touches the local day (default today), in EXPECTED_STATES (or just
    `status`), by start."""
    start, end = day_bounds(day or local(_now(now)).date())
    states = (status,) if status else EXPECTED_STATES
    return (_gate_query().where(Visit.status.in_(states), Visit.starts_at < end, Visit.ends_at > start)
            .order_by(Visit.starts_at, Visit.id))


def inside_query(now: datetime | None = None):
    """Who is inside now: overstays (still inside after the window) first, then by end."""
    now = _now(now)
    return (_gate_query().where(Visit.status == "inside")
            .order_by((Visit.ends_at <= now).desc(), Visit.ends_at, Visit.id))


def is_overstay(visit: Visit, now: datetime | None = None) -> bool:
    return visit.status == "inside" and visit.ends_at <= _now(now)


# --- check-in and check-out at the gate ------------------------------------------------------

def check_in(actor: Principal, visit_id: int, now: datetime | None = None) -> Visit:
    """A guard lets the visitor in without a scan (a walk-in, no mini-program): the pass's
    window applies (VISIT_PASS_NOT_YET_VALID / VISIT_PASS_WINDOW_OVER); 409
    INVALID_TRANSITION unless approved."""
    visit = get_visit(actor, visit_id)
    rules.check_pass_window(visit, _now(now))
    return VISIT.transition(visit, "check_in", actor, note="门岗登记入场")


def check_out(actor: Principal, visit_id: int) -> Visit:
    """A guard records the visitor leaving (always possible while inside)."""
    visit = get_visit(actor, visit_id)
    return VISIT.transition(visit, "check_out", actor, note="门岗登记离场")


@order_transitioned.connect_via(VISIT)
def _on_gate_step(sender, order, transition, from_state, actor, **_):
    """Record who let the visitor in or out and when (scan or gate alike); tell the host of
    the arrival. Runs inside the transition's transaction."""
    if transition.name not in ("check_in", "check_out"):
        return
    now = rules.clock()
    by = actor.user_id or None
    values = ({"checked_in_at": now, "checked_in_by_id": by} if transition.name == "check_in"
              else {"checked_out_at": now, "checked_out_by_id": by})
    db.session.execute(update(Visit).where(Visit.id == order.id).values(values)
                       .execution_options(synchronize_session=False))
    db.session.expire(order)
    if transition.name == "check_in":
        application = order.application
        notify(order.host_id, "visit_checked_in", {**_context(order, application), "at": now,
                                                   "guard": actor.name})


def _context(visit: Visit, application: VisitApplication) -> dict:
    company = f"（{application.company}）" if application.company else ""
    return {"visitor": application.name or "访客", "company": company, "host": visit.host.name,
            "when": when_text(visit), "ends_at": visit.ends_at, "application_id": application.id}


# --- whole ID numbers ------------------------------------------------------------------------

def reveal_application_id(actor: Principal, application_id: int) -> dict:
    """The visitor's whole ID number for an id_verifier (personal.reveal_id_number: FORBIDDEN
    for anyone else, audited as `visitor.id_revealed` without the number)."""
    if not actor.has_role("id_verifier"):
        raise AppError("FORBIDDEN", details={"required_roles": ["id_verifier"]})
    application = get_row(VisitApplication, application_id)
    ensure_visible(application is not None)
    if application.id_number_enc is None:
        raise AppError("VISIT_ID_NOT_STORED")
    number = personal.reveal_id_number(actor, application)
    return {"name": application.name, "id_type": application.id_type, "id_number": number,
            "id_masked": application.id_masked}


def reveal_companion_id(actor: Principal, companion_id: int) -> dict:
    """A companion's whole ID number, on the same terms: id_verifier only, audited as
    `visitor.id_revealed` on the companion (with its application's id), never the number."""
    if not actor.has_role("id_verifier"):
        raise AppError("FORBIDDEN", details={"required_roles": ["id_verifier"]})
    companion = get_row(VisitCompanion, companion_id)
    ensure_visible(companion is not None)
    audit.record("visitor.id_revealed", "visit_companion", companion.id,
                 {"application_id": companion.application_id}, actor=actor)
    number = crypto.decrypt(companion.id_number_enc, personal.ID_PURPOSE)
    return {"name": companion.name, "id_type": companion.id_type, "id_number": number,
            "id_masked": companion.id_masked}


# --- the sweep -------------------------------------------------------------------------------

def _each(due: Callable[[int], list[int]], handle: Callable[[int], bool]) -> int:
    """Handle the due ids in keyset batches, each in its own transaction; count the changes."""
    changed, after = 0, 0
    while ids := due(after):
        for visit_id in ids:
            if handle(visit_id):
                changed += 1
            db.session.commit()
        after = ids[-1]
    return changed


def _due(*where) -> Callable[[int], list[int]]:
    def due(after: int) -> list[int]:
        return list(db.session.execute(select(Visit.id).where(Visit.id > after, *where)
                                       .order_by(Visit.id).limit(BATCH)).scalars())
    return due


def _expire(visit_id: int) -> bool:
    try:
        VISIT.transition(visit_id, "expire", SYSTEM, note="来访时段已结束")
    except AppError as exc:
        if exc.code not in ("INVALID_TRANSITION", "NOT_FOUND"):
            raise
        return False
    return True


def active_guards() -> list[int]:
    return list(db.session.execute(
        select(User.id).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "guard", User.is_active.is_(True)).distinct().order_by(User.id)).scalars())


def _flag_overstay(now: datetime) -> Callable[[int], bool]:
    def handle(visit_id: int) -> bool:
        flagged = db.session.execute(
            update(Visit).where(Visit.id == visit_id, Visit.status == "inside", Visit.ends_at <= now,
                                Visit.overstay_flagged_at.is_(None))
            .values(overstay_flagged_at=now).returning(Visit.id)
            .execution_options(synchronize_session=False)).scalar()
        if flagged is None:
            return False
        visit = db.session.get(Visit, visit_id)
        db.session.refresh(visit)
        context = _context(visit, visit.application)
        for user_id in dict.fromkeys([visit.host_id, *active_guards()]):
            notify(user_id, "visit_overstay", context)
        return True
    return handle


def run_gate_sweep(now: datetime | None = None) -> dict:
    """Expire visits whose window ended before check-in (invited, pending, held, approved),
    and flag once each visitor still inside after the window (the host and every active guard
    are told). Commits per visit; a second run, or a second process at once, changes nothing
    twice. Returns {"expired": n, "overstays": n}."""
    now = _now(now)
    expired = _each(_due(Visit.status.in_(EXPIRING_STATES), Visit.ends_at <= now), _expire)
    overstays = _each(_due(Visit.status == "inside", Visit.ends_at <= now, Visit.overstay_flagged_at.is_(None)),
                      _flag_overstay(now))
    db.session.commit()
    return {"expired": expired, "overstays": overstays}


def gate_sweep() -> int:
    """The registered sweep (app/sweeps.py: returns how many things changed)."""
    return sum(run_gate_sweep().values())
