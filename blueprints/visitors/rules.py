"""The visit lifecycle `VISIT`, who may see and act on a visit, the window rules, and the
visitor's pass (`VISIT_PASS`): what every part of the visitors domain shares.

States (models/visitors.py VISIT_STATES) and how a visit gets there:
- created `invited` (a staff member's invitation, waiting for the visitor to complete it),
  `pending` (a visitor's request, or a guard's walk-in registration, waiting for the host),
  `held` (the blacklist matched: an administrator decides) or `approved` (a completed
  invitation: the host asked for the visit);
- `complete` invited → approved, by the visitor who opened the invitation; `hold`
  invited → held when the completed invitation matches the blacklist;
- `approve` / `reject` pending → approved / rejected by the host (or an administrator);
  `release` held → approved (an invitation or a walk-in the host already wanted) and
  `release_to_host` held → pending (a request the host still has to decide), `reject`
  held → rejected, by administrators;
- `cancel` by the host, the visitor or an administrator before check-in;
- `check_in` approved → inside and `check_out` inside → left by a guard (scanning the pass,
  or at the gate for a walk-in without the mini-program);
- `expire` (the sweep) when the window ends before anyone checked in.
Cancelling, rejecting or expiring a visit revokes its pass at once (a pass names the state
it was issued in: a scan of a cancelled visit's pass is 409 INVALID_TRANSITION) and, through
`app.lifecycle.order_transitioned` (sender VISIT, target in REVOKED_STATES), whatever other
domains hold for it (the parking reservation of its car).

A pass is issued and scanned only inside the window: from VISIT_EARLY_MINUTES before the
start (VISIT_PASS_NOT_YET_VALID before that) to the end (VISIT_PASS_WINDOW_OVER after it);
checking out is always possible.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app import qrpass
from app.auth import Principal
from app.errors import AppError, register_codes
from app.lifecycle import Lifecycle, Transition
from app.timeutil import local, utcnow
from models.visitors import ID_TYPES, LIVE_STATES, VISIT_STATES, Visit

register_codes({
    "VISIT_WINDOW_INVALID": (422, "来访时间无效：结束时间须晚于开始时间，且精确到分钟",
                             "Visitors: end not after start, or not whole minutes."),
    "VISIT_WINDOW_PAST": (422, "来访时间已过", "Visitors: the window ends in the past (`details.ends_at`)."),
    "VISIT_WINDOW_TOO_LONG": (422, "来访时段过长", "Visitors: the window is longer than VISIT_MAX_HOURS "
                                              "(`details.max_hours`)."),
    "VISIT_TOO_FAR_AHEAD": (422, "来访日期过远", "Visitors: the window starts more than VISIT_ADVANCE_DAYS ahead "
                                           "(`details.max_days`)."),
    "VISIT_PASS_NOT_YET_VALID": (409, "未到来访时间，暂不能通行",
                                 "Visitors: the pass is issued or scanned before the window's start minus "
                                 "VISIT_EARLY_MINUTES (`details.valid_from`)."),
    "VISIT_PASS_WINDOW_OVER": (409, "来访时段已结束，通行证已失效",
                               "Visitors: the pass is issued or scanned after the window's end "
                               "(`details.ends_at`)."),
})

REVOKED_STATES = ("rejected", "cancelled", "expired")


# --- who ----------------------------------------------------------------------------------

def is_host(actor: Principal, visit: Visit) -> bool:
    return actor.user_id == visit.host_id


def is_visitor(actor: Principal, visit: Visit) -> bool:
    return visit.user_id is not None and actor.user_id == visit.user_id


def is_guard(actor: Principal) -> bool:
    return actor.has_role("guard")


def can_see(actor: Principal, visit: Visit) -> bool:
    """The host, the visitor, guards (the gate's lists and scans), administrators and auditors."""
    return is_host(actor, visit) or is_visitor(actor, visit) or is_guard(actor) or actor.reads_everything


def _host_or_admin(actor: Principal, visit: Visit) -> bool:
    return is_host(actor, visit) or actor.is_admin


def _may_cancel(actor: Principal, visit: Visit) -> bool:
    return is_host(actor, visit) or is_visitor(actor, visit) or actor.is_admin


def _may_reject(actor: Principal, visit: Visit) -> bool:
    # A held visit is the administrators' decision; a pending one the host's (or theirs).
    return actor.is_admin or (visit.status == "pending" and is_host(actor, visit))


VISIT = Lifecycle(
    order_type="visit", model=Visit, states=VISIT_STATES,
    transitions=[
        Transition("complete", source=("invited",), target="approved", roles=("visitor", "staff"),
                   label="访客已填写", authorize=is_visitor),
        Transition("hold", source=("invited", "pending"), target="held", roles=("system",),
                   label="命中黑名单待复核"),
        Transition("approve", source=("pending",), target="approved", roles=("staff", "admin"),
                   label="被访人同意", authorize=_host_or_admin),
        Transition("release", source=("held",), target="approved", roles=("admin",), label="复核通过"),
        Transition("release_to_host", source=("held",), target="pending", roles=("admin",),
                   label="复核通过，待被访人确认"),
        Transition("reject", source=("pending", "held"), target="rejected", roles=("staff", "admin"),
                   label="拒绝", authorize=_may_reject),
        Transition("cancel", source=("invited", "pending", "held", "approved"), target="cancelled",
                   roles=("staff", "visitor", "admin"), label="取消", authorize=_may_cancel),
        Transition("check_in", source=("approved",), target="inside", roles=("guard",), label="入场登记"),
        Transition("check_out", source=("inside",), target="left", roles=("guard",), label="离场登记"),
        Transition("expire", source=("invited", "pending", "held", "approved"), target="expired",
                   roles=("system",), label="已过期"),
    ],
    title="访客预约", visible=can_see,
)

assert set(LIVE_STATES) | set(REVOKED_STATES) | {"left"} == set(VISIT_STATES)


# --- windows ------------------------------------------------------------------------------

def clock() -> datetime:
    """Now; the one place the visitors domain reads the time (tests fix it: `visit_clock`)."""
    return utcnow()


def _config(name: str) -> int:
    return current_app.config[name]


def check_window(start: datetime, end: datetime, now: datetime | None = None) -> None:
    """A visit window: whole minutes, end after start (VISIT_WINDOW_INVALID), not over
    (VISIT_WINDOW_PAST), at most VISIT_MAX_HOURS (VISIT_WINDOW_TOO_LONG), starting at most
    VISIT_ADVANCE_DAYS ahead (VISIT_TOO_FAR_AHEAD)."""
    now = now or clock()
    if end <= start or start.second or start.microsecond or end.second or end.microsecond:
        raise AppError("VISIT_WINDOW_INVALID", details={"starts_at": local(start).isoformat(),
                                                        "ends_at": local(end).isoformat()})
    if end <= now:
        raise AppError("VISIT_WINDOW_PAST", details={"ends_at": local(end).isoformat()})
    max_hours = _config("VISIT_MAX_HOURS")
    if end - start > timedelta(hours=max_hours):
        raise AppError("VISIT_WINDOW_TOO_LONG", f"单次来访时段不能超过 {max_hours} 小时",
                       details={"max_hours": max_hours})
    max_days = _config("VISIT_ADVANCE_DAYS")
    if local(start).date() > local(now).date() + timedelta(days=max_days):
        raise AppError("VISIT_TOO_FAR_AHEAD", f"最多可预约 {max_days} 天内的来访", details={"max_days": max_days})


def pass_valid_from(visit: Visit) -> datetime:
    return visit.starts_at - timedelta(minutes=_config("VISIT_EARLY_MINUTES"))


def check_pass_window(visit: Visit, now: datetime) -> None:
    """The pass of an approved visit counts only from pass_valid_from to the window's end."""
    if visit.status != "approved":
        return
    if now < pass_valid_from(visit):
        valid_from = local(pass_valid_from(visit))
        raise AppError("VISIT_PASS_NOT_YET_VALID", f"未到来访时间，{valid_from:%m月%d日 %H:%M} 起可入场",
                       details={"valid_from": valid_from.isoformat()})
    if now >= visit.ends_at:
        raise AppError("VISIT_PASS_WINDOW_OVER", details={"ends_at": local(visit.ends_at).isoformat()})


def pass_summary(visit: Visit) -> dict:
    """What the guard sees on a scan: who, for whom, until when; ID numbers masked."""
    application = visit.application
    return {"visitor": application.name, "company": application.company,
            "id_type": ID_TYPES.get(application.id_type) if application.id_type else None,
            "id_number": application.id_masked, "companions": application.companion_count,
            "plate": application.plate, "host": visit.host.name,
            "starts_at": local(visit.starts_at).isoformat(), "ends_at": local(visit.ends_at).isoformat()}


VISIT_PASS = qrpass.register_purpose(
    "visit", VISIT, steps={"approved": "check_in", "inside": "check_out"}, label="访客通行证",
    can_scan=lambda scanner, visit: is_guard(scanner), summary=pass_summary, check=check_pass_window)
