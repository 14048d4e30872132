"""Visits (访客预约): the three ways in and the decisions. Plain functions (no `request`); they
write inside the caller's transaction and the route commits.

Ways in, each one application (`VisitApplication`) with one visit per occurrence:
- invitation (`invite`): a staff member (the host) gives the purpose and one window or a
  weekly recurrence, optionally the visitor's name, a plate and a room booking the host acts
  for that overlaps a window. The visits are `invited`; the answer carries a one-time secret
  token (only its SHA-256 is stored) and the mini-program path to share. Whoever opens the
  link sees `invitation_view`; `complete` (within VISIT_INVITATION_DAYS, once: the first to
  claim the application wins, a conditional UPDATE) records the consent and the personal
  data, makes the visitor the pass holder of every visit, and moves each future visit
  invited → approved, or → held on a blacklist hit;
- request (`apply`): a visitor names the host by name and phone (the phone is looked up by
  blind index among active staff, the name compared exactly; any mismatch is one 404 that
  does not say which part was wrong); visits `pending` (→ `held` on a blacklist hit), the
  host is told;
- walk-in (`register_walk_in`): a guard enters the same data for someone at the gate, the
  consent recorded by the guard; one window from now (the whole minute) to `ends_at`;
  visits `pending`, the host confirms.

Decisions are made for a whole application (a recurring or group visit is decided once):
`approve`, `reject` (pending; held too for administrators), `release` (administrators:
held → approved for invitations and walk-ins, held → pending for requests), `cancel` (the
host, the visitor or an administrator: every visit not yet inside); `cancel_visit` cancels
one occurrence. Each acts on the visits whose window has not ended, through `rules.VISIT`
(409 INVALID_TRANSITION when none is in a state it applies to): a cancelled or rejected
visit's pass is refused at the next scan (it names the state it was issued in), and
`order_transitioned` lets other domains release what hangs on the visit (its parking).

Notices: the host on a request or walk-in, a completed invitation, a hold and a release; the
visitor on approval and rejection (with the reason); the other side on a cancellation. They
name the visitor, host, purpose and times, never a phone or ID number; a hold's notice does
not quote the blacklist note (only administrators see `held_reason`).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import date, datetime, time, timedelta

from dateutil.rrule import WEEKLY, rrule
from flask import current_app
from sqlalchemy import exists, or_, select, update

from app import crypto
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import db, get_row
from app.lifecycle import SYSTEM
from app.notify import notify, register_templates
from app.timeutil import SHANGHAI, local
from blueprints.parking.plates import normalise_plate
from blueprints.rooms.rules import acts_for
from blueprints.visitors import personal, rules
from blueprints.visitors.rules import VISIT
from models import User
from models.rooms import RoomBooking
from models.visitors import VISIT_SOURCES, Visit, VisitApplication, VisitCompanion

register_codes({
    "VISIT_HOST_NOT_FOUND": (404, "未找到该被访人，请核对被访人的姓名和手机号",
                             "Visitors: host_name and host_phone do not name one active staff member (which "
                             "part is wrong is not said)."),
    "VISIT_HOST_SELF": (422, "不能预约拜访自己", "Visitors: the caller named themself as the host."),
    "VISIT_INVITATION_NOT_FOUND": (404, "邀请不存在或已失效", "Visitors: no invitation has this token."),
    "VISIT_INVITATION_EXPIRED": (409, "邀请已过期，请联系邀请人重新邀请",
                                 "Visitors: the invitation is older than VISIT_INVITATION_DAYS, or every "
                                 "window of it has ended (`details.expires_at`)."),
    "VISIT_INVITATION_USED": (409, "该邀请已填写，不能重复填写", "Visitors: the invitation was completed already."),
    "VISIT_TOO_MANY_COMPANIONS": (422, "随行人员过多", "Visitors: more companions than VISIT_MAX_COMPANIONS "
                                                 "(`details.max`)."),
    "VISIT_SERIES_INVALID": (422, "周期来访的次数无效", "Visitors: a recurrence with more visits than "
                                                "VISIT_SERIES_MAX (`details.max`), or none at all."),
    "VISIT_ROOM_BOOKING_INVALID": (422, "关联的会议室预订无效：须为您本人（或代订）的有效预订，且与来访时间重叠",
                                   "Visitors: room_booking_id is not a live booking the host organises or "
                                   "booked, or overlaps no window of the visit."),
})

register_templates({
    # Context: visitor, company, host, purpose, when, source, application_id.
    "visit_requested": {
        "template_id": "", "title": "访客来访待确认：{visitor}",
        "body": "{source}：{visitor}{company}将于 {when} 来访，事由：{purpose}。请在小程序中确认或拒绝。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{start}", "thing3": "{purpose}"},
        "long_term": False,
    },
    "visit_invitation_completed": {
        "template_id": "", "title": "访客已填写邀请：{visitor}",
        "body": "{visitor}{company}已填写您的来访邀请，来访时间 {when}，事由：{purpose}。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{start}", "thing3": "{purpose}"},
        "long_term": False,
    },
    "visit_held": {
        "template_id": "", "title": "访客预约待管理员复核",
        "body": "{visitor} {when} 的来访需由管理员复核，复核后会通知您。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{start}", "phrase3": "待复核"},
        "long_term": False,
    },
    # Context: + outcome.
    "visit_released": {
        "template_id": "", "title": "访客预约已通过复核",
        "body": "{visitor} {when} 的来访已通过管理员复核，{outcome}。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{start}", "phrase3": "已复核"},
        "long_term": False,
    },
    "visit_approved": {
        "template_id": "", "title": "访客预约已通过",
        "body": "您 {when} 拜访{host}的预约已通过。来访时请在小程序中出示通行码。",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{host}", "time2": "{start}", "phrase3": "已通过"},
        "long_term": False,
    },
    # Context: + reason.
    "visit_rejected": {
        "template_id": "", "title": "访客预约未通过",
        "body": "您 {when} 拜访{host}的预约未通过。原因：{reason}",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{host}", "time2": "{start}", "phrase3": "未通过", "thing4": "{reason}"},
        "long_term": False,
    },
    "visit_cancelled": {
        "template_id": "", "title": "访客预约已取消",
        "body": "{visitor}拜访{host}（{when}）的预约已取消。{reason}",
        "page": "pages/visitors/application?id={application_id}",
        "fields": {"name1": "{visitor}", "time2": "{start}", "phrase3": "已取消"},
        "long_term": False,
    },
})

INVITATION_PAGE = "pages/visitors/invitation?token={token}"
# A live room booking a visit may be linked to.
ROOM_LIVE = ("pending", "approved", "checked_in")


def _now(now: datetime | None = None) -> datetime:
    return now or rules.clock()


def _config(name: str) -> int:
    return current_app.config[name]


# --- reading ---------------------------------------------------------------------------------

def can_see_application(actor: Principal, application: VisitApplication) -> bool:
    return application.host_id == actor.user_id or any(rules.can_see(actor, v) for v in application.visits)


def get_application(actor: Principal, application_id: int) -> VisitApplication:
    """An application the actor may see (rules.can_see on any of its visits); else NOT_FOUND
    (the platform's answer for an object the caller may not see, as tests/test_ownership.py
    expects)."""
    application = get_row(VisitApplication, application_id)
    ensure_visible(application is not None and can_see_application(actor, application))
    return application


def get_visit(actor: Principal, visit_id: int) -> Visit:
    visit = get_row(Visit, visit_id)
    ensure_visible(visit is not None and rules.can_see(actor, visit))
    return visit


def invitation_expires_at(application: VisitApplication) -> datetime | None:
    if application.source != "invitation":
        return None
    return application.created_at + timedelta(days=_config("VISIT_INVITATION_DAYS"))


def summary_status(application: VisitApplication) -> str:
    """The application's state for lists: its first visit still live, else its last visit's."""
    visits = application.visits
    live = [v for v in visits if v.status in ("invited", "pending", "held", "approved", "inside")]
    return (live or visits[-1:])[0].status if visits else "cancelled"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def my_applications_query(actor: Principal, role: str | None = None, status: str | None = None,
                          date_from: date | None = None, date_to: date | None = None):
    """Applications the caller hosts or visits; newest first. `status` and the dates select
    applications with a visit in that state / starting on those local days."""
    mine = {"host": [VisitApplication.host_id == actor.user_id],
            "visitor": [VisitApplication.visitor_user_id == actor.user_id]}
    who = mine[role] if role else [or_(VisitApplication.host_id == actor.user_id,
                                       VisitApplication.visitor_user_id == actor.user_id)]
    visit = [Visit.application_id == VisitApplication.id]
    if status:
        visit.append(Visit.status == status)
    if date_from:
        visit.append(Visit.starts_at >= _day_start(date_from))
    if date_to:
        visit.append(Visit.starts_at < _day_start(date_to + timedelta(days=1)))
    stmt = select(VisitApplication).where(*who)
    if len(visit) > 1:
        stmt = stmt.where(exists().where(*visit))
    return stmt.order_by(VisitApplication.created_at.desc(), VisitApplication.id.desc())


# --- checks ----------------------------------------------------------------------------------

def expand(start: datetime, end: datetime, recurrence: dict) -> list[tuple[datetime, datetime]]:
    """The windows of a weekly recurrence from the first one, on Asia/Shanghai wall time."""
    first = local(start).replace(tzinfo=None)
    options: dict = {"dtstart": first, "byweekday": sorted(set(recurrence.get("weekdays") or [first.weekday()]))}
    if recurrence.get("until"):
        options["until"] = datetime.combine(recurrence["until"], time.max)
    else:
        options["count"] = recurrence["count"]
    limit = _config("VISIT_SERIES_MAX")
    moments = list(itertools.islice(rrule(WEEKLY, **options), limit + 1))
    if not moments or len(moments) > limit:
        raise AppError("VISIT_SERIES_INVALID", f"周期来访最多 {limit} 次", details={"max": limit})
    duration = end - start
    return [(m.replace(tzinfo=SHANGHAI), m.replace(tzinfo=SHANGHAI) + duration) for m in moments]


def windows(data: dict, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows of a request: the first checked on its own, then every occurrence."""
    start, end = data["starts_at"], data["ends_at"]
    rules.check_window(start, end, now)
    occurrences = expand(start, end, data["recurrence"]) if data.get("recurrence") else [(start, end)]
    for occurrence_start, occurrence_end in occurrences:
        rules.check_window(occurrence_start, occurrence_end, now)
    return occurrences


def find_host(name: str, phone: str) -> User:
    """The active staff member with this phone (blind index) and exactly this name; one
    VISIT_HOST_NOT_FOUND for any mismatch."""
    normalised = crypto.normalise_phone(phone or "")
    if normalised is None:
        raise AppError("VISIT_PHONE_INVALID", details={"field": "host_phone"})
    host = db.session.execute(select(User).where(
        User.phone_bidx == crypto.phone_index(normalised), User.kind == "staff",
        User.is_active.is_(True))).scalar_one_or_none()
    if host is None or host.name.strip() != (name or "").strip():
        raise AppError("VISIT_HOST_NOT_FOUND")
    return host


def _room_booking(actor: Principal, booking_id: int | None,
                  occurrences: list[tuple[datetime, datetime]]) -> int | None:
    if booking_id is None:
        return None
    booking = get_row(RoomBooking, booking_id)
    if (booking is None or booking.status not in ROOM_LIVE or not acts_for(actor, booking)
            or not any(booking.start_at < end and start < booking.end_at for start, end in occurrences)):
        raise AppError("VISIT_ROOM_BOOKING_INVALID", details={"room_booking_id": booking_id})
    return booking.id


def _plate(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    return normalise_plate(raw)[0]


def _person(data: dict) -> dict:
    """The visitor's stored columns (checked, encrypted, indexed, masked)."""
    return {"name": data["name"], "company": data.get("company") or None, "plate": _plate(data.get("plate")),
            **personal.phone_values(data["phone"]),
            **personal.id_values(data["id_type"], data["id_number"])}


def _companions(data: dict) -> list[VisitCompanion]:
    companions = data.get("companions") or []
    limit = _config("VISIT_MAX_COMPANIONS")
    if len(companions) > limit:
        raise AppError("VISIT_TOO_MANY_COMPANIONS", f"随行人员最多 {limit} 人", details={"max": limit})
    return [VisitCompanion(name=c["name"], **personal.id_values(c["id_type"], c["id_number"],
                                                                f"companions[{i}].id_number"))
            for i, c in enumerate(companions)]


def _held_reason(hits) -> str:
    return ("命中黑名单：" + "；".join(hit.note for hit in hits))[:200]


# --- notices ---------------------------------------------------------------------------------

def when_text(visits: list[Visit]) -> str:
    """"6月3日 09:00-11:00", or "6月3日 09:00-11:00 起共 4 次" for several visits."""
    first = visits[0]
    start, end = local(first.starts_at), local(first.ends_at)
    tail = end.strftime("%H:%M") if end.date() == start.date() else f"{end.month}月{end.day}日 {end:%H:%M}"
    text = f"{start.month}月{start.day}日 {start:%H:%M}-{tail}"
    return text if len(visits) == 1 else f"{text} 起共 {len(visits)} 次"


def _context(application: VisitApplication, visits: list[Visit], **extra) -> dict:
    visits = visits or application.visits
    company = f"（{application.company}）" if application.company else ""
    return {"visitor": application.name or "访客", "company": company,
            "host": application.host.name, "purpose": application.purpose, "when": when_text(visits),
            "start": visits[0].starts_at, "source": VISIT_SOURCES[application.source],
            "application_id": application.id, **extra}


def _tell(user_id: int | None, template: str, application: VisitApplication, visits: list[Visit], **extra) -> None:
    if user_id is not None:
        notify(user_id, template, _context(application, visits, **extra))


# --- ways in ---------------------------------------------------------------------------------

def _add_visits(application: VisitApplication, occurrences, status: str, actor: Principal,
                user_id: int | None) -> list[Visit]:
    visits = []
    for start, end in occurrences:
        visit = Visit(application_id=application.id, user_id=user_id, host_id=application.host_id,
                      host_department_id=application.host_department_id, status=status, starts_at=start,
                      ends_at=end)
        db.session.add(visit)
        db.session.flush()
        VISIT.record_creation(visit, actor)
        visits.append(visit)
    db.session.refresh(application, ["visits"])
    return visits


def invite(actor: Principal, data: dict, now: datetime | None = None) -> tuple[VisitApplication, str]:
    """A staff member's invitation; returns the application and the one-time token (shown once)."""
    now = _now(now)
    host = db.session.get(User, actor.user_id)
    occurrences = windows(data, now)
    room_booking_id = _room_booking(actor, data.get("room_booking_id"), occurrences)
    token = secrets.token_urlsafe(18)
    application = VisitApplication(
        source="invitation", host_id=host.id, host_department_id=host.department_id, created_by_id=host.id,
        invitation_hash=crypto.token_hash(token), name=data.get("visitor_name") or None, purpose=data["purpose"],
        plate=_plate(data.get("plate")), room_booking_id=room_booking_id,
        recurrence="weekly" if data.get("recurrence") else None,
        created_at=now)  # the invitation's age is measured on the domain's clock
    db.session.add(application)
    db.session.flush()
    _add_visits(application, occurrences, "invited", actor, None)
    return application, token


def invitation_path(token: str) -> str:
    return INVITATION_PAGE.format(token=token)


def _by_token(token: str) -> VisitApplication:
    application = None
    if token and len(token) <= 100:
        application = db.session.execute(select(VisitApplication).where(
            VisitApplication.invitation_hash == crypto.token_hash(token))).scalar_one_or_none()
    if application is None:
        raise AppError("VISIT_INVITATION_NOT_FOUND")
    return application


def invitation_view(actor: Principal, token: str, now: datetime | None = None) -> dict:
    """What the visitor sees before completing: host name, department, purpose, windows
    (never the host's phone). A completed invitation shows only to its visitor and host."""
    now = _now(now)
    application = _by_token(token)
    completed = application.visitor_user_id is not None
    if completed and actor.user_id not in (application.visitor_user_id, application.host_id):
        raise AppError("VISIT_INVITATION_USED")
    expires_at = invitation_expires_at(application)
    open_visits = [v for v in application.visits if v.status == "invited" and v.ends_at > now]
    return {"application_id": application.id if completed else None, "host_name": application.host.name,
            "department": application.host_department.name if application.host_department else None,
            "purpose": application.purpose, "visitor_name": application.name,
            "plate": application.plate, "recurrence": application.recurrence,
            "visits": application.visits, "expires_at": expires_at, "completed": completed,
            "expired": not completed and (now >= expires_at or not open_visits),
            "notice_version": _config("VISIT_NOTICE_VERSION")}


def complete(actor: Principal, token: str, data: dict, now: datetime | None = None) -> VisitApplication:
    """The visitor completes an invitation (see the module's docstring)."""
    now = _now(now)
    application = _by_token(token)
    if application.visitor_user_id is not None:
        raise AppError("VISIT_INVITATION_USED")
    if application.host_id == actor.user_id:
        raise AppError("VISIT_HOST_SELF")
    expires_at = invitation_expires_at(application)
    open_visits = [v for v in application.visits if v.status == "invited" and v.ends_at > now]
    if now >= expires_at or (not open_visits and any(v.status == "invited" for v in application.visits)):
        raise AppError("VISIT_INVITATION_EXPIRED", details={"expires_at": local(expires_at).isoformat()})
    if not open_visits:  # cancelled by the host, or expired by the sweep
        _invalid(application.visits[-1], "complete")
    person = _person(data)
    companions = _companions(data)
    consent = personal.record_consent(data.get("notice_version"), user_id=actor.user_id)
    claimed = db.session.execute(
        update(VisitApplication).where(VisitApplication.id == application.id,
                                       VisitApplication.visitor_user_id.is_(None))
        .values(visitor_user_id=actor.user_id).returning(VisitApplication.id)
        .execution_options(synchronize_session=False)).scalar()
    if claimed is None:
        raise AppError("VISIT_INVITATION_USED")
    db.session.refresh(application)
    for column, value in person.items():
        if column == "plate" and value is None:
            continue  # keep the plate the host gave unless the visitor gives one
        setattr(application, column, value)
    application.consent_id = consent.id
    application.companions.extend(companions)
    application.companion_count = len(companions)
    for visit in application.visits:
        visit.user_id = actor.user_id
    db.session.flush()
    hits = personal.blacklist_hits(application)
    if hits:
        application.held_reason = _held_reason(hits)
    for visit in open_visits:
        if hits:
            VISIT.transition(visit, "hold", SYSTEM, note="命中黑名单待复核")
        else:
            VISIT.transition(visit, "complete", actor)
    _tell(application.host_id, "visit_held" if hits else "visit_invitation_completed", application, open_visits)
    return application


def _new_application(actor: Principal, source: str, host: User, data: dict, now: datetime,
                     visitor_user_id: int | None, consent_id: int) -> VisitApplication:
    occurrences = windows(data, now)
    person = _person(data)
    companions = _companions(data)
    application = VisitApplication(
        source=source, host_id=host.id, host_department_id=host.department_id, visitor_user_id=visitor_user_id,
        created_by_id=actor.user_id, purpose=data["purpose"], consent_id=consent_id,
        companion_count=len(companions), recurrence="weekly" if data.get("recurrence") else None,
        created_at=now, **person)
    application.companions.extend(companions)
    db.session.add(application)
    db.session.flush()
    visits = _add_visits(application, occurrences, "pending", actor, visitor_user_id)
    hits = personal.blacklist_hits(application)
    if hits:
        application.held_reason = _held_reason(hits)
        for visit in visits:
            VISIT.transition(visit, "hold", SYSTEM, note="命中黑名单待复核")
    _tell(host.id, "visit_held" if hits else "visit_requested", application, visits)
    return application


def apply(actor: Principal, data: dict, now: datetime | None = None) -> VisitApplication:
    """A visitor's request to a host named by name and phone."""
    now = _now(now)
    host = find_host(data["host_name"], data["host_phone"])
    if host.id == actor.user_id:
        raise AppError("VISIT_HOST_SELF")
    windows(data, now)  # the window's own codes before the consent's
    consent = personal.record_consent(data.get("notice_version"), user_id=actor.user_id)
    return _new_application(actor, "application", host, data, now, actor.user_id, consent.id)


def register_walk_in(actor: Principal, data: dict, now: datetime | None = None) -> VisitApplication:
    """A guard registers someone at the gate: from now (the whole minute) to ends_at."""
    now = _now(now)
    host = find_host(data["host_name"], data["host_phone"])
    if data["ends_at"] <= now:  # said as such, not as an end before the start
        raise AppError("VISIT_WINDOW_PAST", details={"ends_at": local(data["ends_at"]).isoformat()})
    data = {**data, "starts_at": now.replace(second=0, microsecond=0), "recurrence": None}
    windows(data, now)
    consent = personal.record_consent(data.get("notice_version"), recorded_by_id=actor.user_id)
    return _new_application(actor, "walk_in", host, data, now, None, consent.id)


# --- decisions -------------------------------------------------------------------------------

def _refuse(actor: Principal, visit: Visit, name: str) -> None:
    """The error a transition on `visit` gives in its current state: FORBIDDEN for an actor
    without the right, INVALID_TRANSITION otherwise."""
    if not VISIT.may(actor, visit, name):
        raise AppError("FORBIDDEN", details={"transition": name,
                                             "required_roles": list(VISIT.transitions[name].roles)})
    _invalid(visit, name)


def _invalid(visit: Visit, name: str) -> None:
    transition = VISIT.transitions[name]
    raise AppError("INVALID_TRANSITION", f"当前状态为「{VISIT.label(visit.status)}」，不能{transition.label}",
                   details={"current": visit.status, "current_label": VISIT.label(visit.status),
                            "transition": name, "allowed_from": list(transition.source)})


def _apply_transition(actor: Principal, application: VisitApplication, name: str, now: datetime,
                      note: str | None = None) -> list[Visit]:
    """Make transition `name` on every visit of the application in one of its source states
    whose window has not ended; 409 when there is none."""
    transition = VISIT.transitions[name]
    candidates = [v for v in application.visits if v.status in transition.source]
    targets = [v for v in candidates if v.ends_at > now]
    if not targets:
        if candidates:
            for visit in candidates:
                if not VISIT.may(actor, visit, name):
                    _refuse(actor, visit, name)
            raise AppError("VISIT_WINDOW_PAST", details={"ends_at": local(candidates[-1].ends_at).isoformat()})
        _refuse(actor, application.visits[-1], name)
    for visit in targets:
        VISIT.transition(visit, name, actor, note=note)
    return targets


def approve(actor: Principal, application_id: int, now: datetime | None = None) -> VisitApplication:
    application = get_application(actor, application_id)
    visits = _apply_transition(actor, application, "approve", _now(now))
    _tell(application.visitor_user_id, "visit_approved", application, visits)
    return application


def reject(actor: Principal, application_id: int, reason: str, now: datetime | None = None) -> VisitApplication:
    application = get_application(actor, application_id)
    visits = _apply_transition(actor, application, "reject", _now(now), note=reason)
    application.decision_reason = reason
    _tell(application.visitor_user_id, "visit_rejected", application, visits, reason=reason)
    return application


def release(actor: Principal, application_id: int, note: str | None = None,
            now: datetime | None = None) -> VisitApplication:
    """An administrator clears a held application: invitations and walk-ins → approved,
    requests → pending (the host still decides)."""
    application = get_application(actor, application_id)
    name = "release_to_host" if application.source == "application" else "release"
    visits = _apply_transition(actor, application, name, _now(now), note=note)
    outcome = "请您确认是否接待" if name == "release_to_host" else "访客可按时来访"
    _tell(application.host_id, "visit_released", application, visits, outcome=outcome)
    if name == "release":
        _tell(application.visitor_user_id, "visit_approved", application, visits)
    return application


def _tell_cancelled(actor: Principal, application: VisitApplication, visits: list[Visit], reason: str | None) -> None:
    for user_id in dict.fromkeys((application.host_id, application.visitor_user_id)):
        if user_id is not None and user_id != actor.user_id:
            _tell(user_id, "visit_cancelled", application, visits, reason=f"原因：{reason}" if reason else "")


def cancel(actor: Principal, application_id: int, reason: str | None = None,
           now: datetime | None = None) -> VisitApplication:
    """Cancel every visit of the application not yet inside (whose window has not ended)."""
    application = get_application(actor, application_id)
    visits = _apply_transition(actor, application, "cancel", _now(now), note=reason)
    _tell_cancelled(actor, application, visits, reason)
    return application


def cancel_visit(actor: Principal, visit_id: int, reason: str | None = None) -> Visit:
    """Cancel one occurrence."""
    visit = get_visit(actor, visit_id)
    VISIT.transition(visit, "cancel", actor, note=reason)
    _tell_cancelled(actor, visit.application, [visit], reason)
    return visit
