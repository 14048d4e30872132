"""The points ledger (plain functions, no `request`; they write in the caller's transaction
and the caller commits, except the sweep `expire_due`, which commits per user).

Other domains call:

    from blueprints.points import service as points
    tx = points.award(user_id, "clean_plate", f"meal_checkin:{checkin.id}")   # None: nothing paid now
    tx = points.spend(user_id, 50, f"redemption:{redemption.id}", note="兑换：环保购物袋")
    points.reverse_reference(f"rating:{rating.id}", reason="评价已删除")

Guarantees (each with its database mechanism):
- Pay once per reference: `points_transaction.reference` is UNIQUE and rows are inserted
  with ON CONFLICT DO NOTHING; a repeat (sequential or concurrent, from any process) pays
  nothing and never raises.
- One user's changes are serialised by locking their `points_account` row (created on first
  use: INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE) before the cap or the
  balance is read, so caps are reached exactly and the balance never goes negative
  (`CHECK balance >= 0` as the last line). Lock one user per transaction, or users in id order.
- The cached account (balance, earned_total, spent_total) changes in the same transaction
  as the ledger row; `check_ledger()` (`flask points-check`) proves it.
- Rows are never updated or deleted (a trigger refuses); corrections are reversing rows.

Periods of caps are Asia/Shanghai calendar periods: the day, the ISO week (Monday–Sunday),
the month; "none" caps a user's total for the rule. A cap counts what the rule paid in the
period, reversed or not (a reversal corrects a wrong award; it does not give the allowance
back).

Expiry (POINTS_EXPIRE_MONTHS, 0 = never): earned and positively adjusted points expire at
the end of the month N months after the month they were earned in (Asia/Shanghai). Points
are consumed oldest first (FIFO by expiry date), so what expires at a moment is the part of
the due credits that debits have not consumed: max(0, due credits − debits). A reversed row
and its reversal cancel each other and take no part (a reversed earn never expires, a
refunded spend consumed nothing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased, selectinload

from app import audit
from app.errors import AppError
from app.extensions import db, get_row
from app.timeutil import SHANGHAI, local, utcnow
from models import User
from models.points import PointsAccount, PointsRule, PointsTransaction

log = logging.getLogger(__name__)

REFERENCE_MAX = 160  # points_transaction.reference
NOTE_MAX = 200  # points_transaction.note (notes, and the reasons of adjustments and reversals)
EXPIRING_SOON_DAYS = 30

# The platform's earning rules (seeded by migration 0007_points with these values).
# Why these numbers: a clean plate is a daily habit worth a little (2 points; lunch and
# dinner: at most 4 a day); rating a finished order is worth 1 with a cap of 5 a day so
# ratings are not farmed; an adopted suggestion is rare, reviewed by an administrator and
# worth most (20, at most 3 a month); a week without waste is a weekly bonus of 5, once per
# ISO week. At these rates an active member of staff earns roughly 80-120 points a month.
DEFAULT_RULES = [
    {"code": "clean_plate", "name": "光盘打卡", "points": 2, "period": "day", "cap": 4,
     "description": "在食堂用餐后拍摄空盘打卡，每餐一次；每天最多计午餐、晚餐两餐"},
    {"code": "rating", "name": "服务评价", "points": 1, "period": "day", "cap": 5,
     "description": "对已完成的服务订单（用餐、会议室、报修等）进行评价"},
    {"code": "suggestion_adopted", "name": "金点子被采纳", "points": 20, "period": "month", "cap": 60,
     "description": "提交的意见建议经管理员审核后被采纳"},
    {"code": "waste_free_week", "name": "一周零浪费", "points": 5, "period": "week", "cap": 5,
     "description": "一周（周一至周日）内的用餐均无浪费记录"},
]

T = PointsTransaction


# --- time --------------------------------------------------------------------------------

def period_bounds(period: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the Asia/Shanghai calendar period containing `now` (aware datetimes);
    (None, None) for "none" (all time)."""
    day = local(now).date()
    if period == "day":
        start = day
        end = day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())  # Monday
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = _add_months(start, 1)
    elif period == "none":
        return None, None
    else:
        raise ValueError(f"unknown period {period!r}")
    return _midnight(start), _midnight(end)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def expiry_for(earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire: the end of the month POINTS_EXPIRE_MONTHS
    months after the month of earning (Asia/Shanghai), i.e. the first instant of the month
    after that; None when POINTS_EXPIRE_MONTHS is 0."""
    months = current_app.config["POINTS_EXPIRE_MONTHS"]
    if not months:
        return None
    return _midnight(_add_months(local(earned_at).date(), months + 1))


# --- reading -----------------------------------------------------------------------------

def balance(user_id: int) -> int:
    return db.session.execute(select(PointsAccount.balance).where(PointsAccount.user_id == user_id)).scalar() or 0


def account_of(user_id: int) -> PointsAccount | None:
    return db.session.get(PointsAccount, user_id)


def find(reference: str) -> PointsTransaction | None:
    """The ledger row recorded for a business event, if any."""
    return db.session.execute(select(T).where(T.reference == reference)).scalar_one_or_none()


def get_rule(code: str) -> PointsRule | None:
    return db.session.execute(select(PointsRule).where(PointsRule.code == code)).scalar_one_or_none()


def active_rules() -> list[PointsRule]:
    return list(db.session.execute(select(PointsRule).where(PointsRule.active)
                                   .order_by(PointsRule.id)).scalars())


def transaction_query(user_id: int, kind: str | None = None):
    """A user's ledger, newest first, with what the titles need loaded."""
    stmt = (select(T).where(T.user_id == user_id)
            .options(selectinload(T.rule), selectinload(T.reverses).selectinload(T.rule), selectinload(T.reversal),
                     selectinload(T.actor)))
    if kind is not None:
        stmt = stmt.where(T.kind == kind)
    return stmt.order_by(T.id.desc())


def get_user(user_id: int) -> User:
    """The user (for administrators' views of a ledger); NOT_FOUND for an unknown id."""
    user = get_row(User, user_id)
    if user is None:
        raise AppError("NOT_FOUND")
    return user


def summary(user_id: int, now: datetime | None = None) -> dict:
    """Balance, totals and the points expiring within EXPIRING_SOON_DAYS days."""
    now = now or utcnow()
    account = account_of(user_id)
    horizon = now + timedelta(days=EXPIRING_SOON_DAYS)
    expiring = [{"points": points, "expires_at": at, "last_day": local(at - timedelta(microseconds=1)).date()}
                for at, points in unconsumed_lots(user_id) if at is not None and at <= horizon]
    months = current_app.config["POINTS_EXPIRE_MONTHS"]
    return {
        "user_id": user_id,
        "balance": account.balance if account else 0,
        "earned_total": account.earned_total if account else 0,
        "spent_total": account.spent_total if account else 0,
        "expiring_points": sum(item["points"] for item in expiring),
        "expiring_soon": expiring,
        "expiry_policy": (f"积分自获得当月月底起 {months} 个月后过期，先获得的积分先使用" if months
                          else "积分长期有效"),
    }


def _effective():
    """Rows that count for FIFO: neither reversed nor a reversal (a pair cancels out)."""
    reversal = aliased(T)
    return and_(T.kind != "reverse", ~exists().where(reversal.reverses_id == T.id))


def unconsumed_lots(user_id: int) -> list[tuple[datetime | None, int]]:
    """The user's points still held, grouped by expiry (oldest first; None = never expires):
    the credits (earns, positive adjustments) less the debits, consumed oldest first."""
    credits = db.session.execute(
        select(T.expires_at, func.sum(T.amount)).where(T.user_id == user_id, T.amount > 0, _effective())
        .group_by(T.expires_at).order_by(T.expires_at.asc().nulls_last())).all()
    debits = -(db.session.execute(select(func.coalesce(func.sum(T.amount), 0))
                                  .where(T.user_id == user_id, T.amount < 0, _effective())).scalar_one())
    lots = []
    for expires_at, amount in credits:
        used = min(amount, debits)
        debits -= used
        if amount > used:
            lots.append((expires_at, amount - used))
    return lots


# --- writing -----------------------------------------------------------------------------

def _lock_account(user_id: int) -> PointsAccount:
    """Create the account if missing and lock it for this transaction: every change of one
    user's points passes here first, so they happen one after another."""
    db.session.execute(pg_insert(PointsAccount).values(user_id=user_id).on_conflict_do_nothing())
    return db.session.execute(select(PointsAccount).where(PointsAccount.user_id == user_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _insert(account: PointsAccount, original: PointsTransaction | None = None, **values) -> PointsTransaction | None:
    """Insert one ledger row and move the account with it (the account is locked); None,
    and no change, when the reference (or the reversed row) is already recorded."""
    amount = values["amount"]
    row = db.session.execute(
        pg_insert(T).values(user_id=account.user_id, balance_after=account.balance + amount, **values)
        .on_conflict_do_nothing().returning(T)).scalar_one_or_none()
    if row is None:
        return None
    account.balance += amount
    account.earned_total += _earned_delta(values["kind"], amount, original)
    account.spent_total += _spent_delta(values["kind"], amount, original)
    account.updated_at = func.now()
    db.session.flush()
    return row


def _earned_delta(kind: str, amount: int, original: PointsTransaction | None) -> int:
    if kind == "earn" or (kind == "adjust" and amount > 0):
        return amount
    if kind == "reverse" and original is not None and original.kind in ("earn", "adjust") and original.amount > 0:
        return amount
    return 0


def _spent_delta(kind: str, amount: int, original: PointsTransaction | None) -> int:
    if kind == "spend":
        return -amount
    if kind == "reverse" and original is not None and original.kind == "spend":
        return -amount
    return 0


def _insufficient(balance_: int, required: int) -> AppError:
    return AppError("POINTS_INSUFFICIENT", message=f"积分余额不足：当前 {balance_} 分，需要 {required} 分",
                    details={"balance": balance_, "required": required})


def _check_reference(reference: str) -> None:
    if not reference or len(reference) > REFERENCE_MAX:
        raise ValueError(f"a reference of 1-{REFERENCE_MAX} characters is required")


def _check_note(note: str | None, required: bool = False) -> None:
    if (required and not note) or (note is not None and len(note) > NOTE_MAX):
        raise ValueError(f"a note/reason of at most {NOTE_MAX} characters{' is required' if required else ''}")


def _same_or_conflict(existing: PointsTransaction, user_id: int, kind: str, amount: int) -> PointsTransaction:
    if (existing.user_id, existing.kind, existing.amount) != (user_id, kind, amount):
        raise AppError("POINTS_REFERENCE_CONFLICT", details={"transaction_id": existing.id})
    return existing


def award(user_id: int, rule_code: str, reference: str, *, note: str | None = None,
          now: datetime | None = None) -> PointsTransaction | None:
    """Pay the rule's points to the user for the business event `reference`, once.

    Returns the new earn row, or None when this call paid nothing: the reference was already
    paid (by an earlier or a concurrent call: a repeat never raises), the rule is inactive,
    or the user reached the rule's cap for the period. When less than the rule's points is
    left under the cap, the remainder is paid (and recorded), so the cap is reached exactly.
    A rule code that does not exist is a programming error: ValueError (so is an unknown
    user: the database refuses the account's foreign key). `now` (aware) is for tests and
    back-dated demo data.
    """
    _check_reference(reference)
    _check_note(note)
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    rule = get_rule(rule_code)
    if rule is None:
        raise ValueError(f"unknown points rule {rule_code!r}")
    now = now or utcnow()
    account = _lock_account(user_id)
    existing = find(reference)
    if existing is not None:
        if (existing.user_id, existing.kind, existing.rule_code) != (user_id, "earn", rule_code):
            log.warning("points reference %s already used by transaction %s (user %s, %s); nothing paid",
                        reference, existing.id, existing.user_id, existing.kind)
        return None
    if not rule.active:
        return None
    amount = rule.points
    if rule.cap is not None:
        start, end = period_bounds(rule.period, now)
        paid = select(func.coalesce(func.sum(T.amount), 0)).where(
            T.user_id == user_id, T.kind == "earn", T.rule_code == rule_code)
        if start is not None:
            paid = paid.where(T.created_at >= start, T.created_at < end)
        amount = min(amount, rule.cap - db.session.execute(paid).scalar_one())
        if amount <= 0:
            return None
    return _insert(account, kind="earn", amount=amount, rule_code=rule_code, reference=reference, note=note,
                   expires_at=expiry_for(now), created_at=now)


def spend(user_id: int, amount: int, reference: str, *, note: str | None = None) -> PointsTransaction:
    """Take `amount` (> 0) points from the user for the business event `reference` (e.g.
    "redemption:9"). 409 POINTS_INSUFFICIENT when the balance is smaller. Pay-once: a
    repeated reference returns the row already recorded (POINTS_REFERENCE_CONFLICT if that
    row is for another user, kind or amount)."""
    if not isinstance(amount, int) or amount <= 0:
        raise ValueError("spend amount must be a positive integer")
    _check_reference(reference)
    _check_note(note)
    account = _lock_account(user_id)
    existing = find(reference)
    if existing is not None:
        return _same_or_conflict(existing, user_id, "spend", -amount)
    if account.balance < amount:
        raise _insufficient(account.balance, amount)
    row = _insert(account, kind="spend", amount=-amount, reference=reference, note=note, created_at=utcnow())
    return row if row is not None else _same_or_conflict(find(reference), user_id, "spend", -amount)


def adjust(user_id: int, amount: int, *, actor, reason: str, reference: str) -> PointsTransaction:
    """An administrator's correction (amount positive or negative, not zero), audited.
    Positive adjustments expire like earned points. A repeated reference returns the row
    already recorded (POINTS_REFERENCE_CONFLICT if it differs); NOT_FOUND for an unknown
    user; POINTS_INSUFFICIENT when a deduction exceeds the balance."""
    if not isinstance(amount, int) or amount == 0:
        raise ValueError("adjustment amount must be a non-zero integer")
    _check_note(reason, required=True)
    _check_reference(reference)
    get_user(user_id)
    account = _lock_account(user_id)
    existing = find(reference)
    if existing is not None:
        return _same_or_conflict(existing, user_id, "adjust", amount)
    if account.balance + amount < 0:
        raise _insufficient(account.balance, -amount)
    now = utcnow()
    actor_id = getattr(actor, "user_id", None) or getattr(actor, "id", None)
    row = _insert(account, kind="adjust", amount=amount, reference=reference, note=reason, actor_id=actor_id,
                  expires_at=expiry_for(now) if amount > 0 else None, created_at=now)
    if row is None:
        return _same_or_conflict(find(reference), user_id, "adjust", amount)
    audit.record("points.adjust", "user", user_id, {"transaction_id": row.id, "amount": amount, "reason": reason,
                                                    "reference": reference, "balance_after": row.balance_after},
                 actor=actor)
    return row


def reverse(transaction_id: int, *, actor=None, reason: str) -> PointsTransaction:
    """Cancel one ledger row with a new row of the opposite amount (the original stays).

    NOT_FOUND for an unknown row; 409 POINTS_NOT_REVERSIBLE for an expiry or a reversal;
    409 POINTS_ALREADY_REVERSED the second time (also when two reversals race); 409
    POINTS_INSUFFICIENT when taking back earned points the user has already used (the
    balance may never go negative: settle it with the user, or adjust). Audited when an
    actor (an administrator) is given; domains reversing their own events pass none."""
    _check_note(reason, required=True)
    original = db.session.get(T, transaction_id) if 0 < transaction_id <= 2**63 - 1 else None
    if original is None:
        raise AppError("NOT_FOUND")
    if original.kind in ("expire", "reverse"):
        raise AppError("POINTS_NOT_REVERSIBLE")
    account = _lock_account(original.user_id)
    done = db.session.execute(select(T.id).where(T.reverses_id == original.id)).scalar()
    if done is not None:
        raise AppError("POINTS_ALREADY_REVERSED", details={"reversal_id": done})
    if account.balance - original.amount < 0:
        raise _insufficient(account.balance, original.amount)
    actor_id = getattr(actor, "user_id", None) or getattr(actor, "id", None)
    row = _insert(account, kind="reverse", amount=-original.amount, rule_code=original.rule_code,
                  reference=f"reverse:{original.id}", reverses_id=original.id, original=original, note=reason,
                  actor_id=actor_id, created_at=utcnow())
    if row is None:  # a concurrent reversal won between our check and insert (the lock makes this rare)
        raise AppError("POINTS_ALREADY_REVERSED", details={
            "reversal_id": db.session.execute(select(T.id).where(T.reverses_id == original.id)).scalar()})
    if actor is not None:
        audit.record("points.reverse", "user", original.user_id, {
            "transaction_id": row.id, "reverses_id": original.id, "amount": row.amount, "reason": reason}, actor=actor)
    return row


def reverse_reference(reference: str, *, actor=None, reason: str) -> PointsTransaction | None:
    """For domains undoing their own event (a rating withdrawn): reverse the row recorded
    for `reference`. None when nothing was recorded (e.g. the award hit the cap); the
    existing reversal when it was reversed before, so an event handler may run twice."""
    original = find(reference)
    if original is None:
        return None
    try:
        return reverse(original.id, actor=actor, reason=reason)
    except AppError as exc:
        if exc.code != "POINTS_ALREADY_REVERSED":
            raise
        return db.session.get(T, exc.details["reversal_id"])


# --- expiry (the sweep) --------------------------------------------------------------------

@dataclass(frozen=True)
class _ExpiryState:
    due: int        # effective credits with expires_at <= now
    debits: int     # effective debits (spends, expiries, negative adjustments), positive
    expired: int    # expired so far, positive
    latest: datetime | None

    @property
    def to_expire(self) -> int:
        return max(0, self.due - self.debits)


def _expiry_columns(now: datetime):
    """Aggregates over a user's effective rows: (due credits, debits, expired, latest due expiry)."""
    due_filter = and_(T.amount > 0, T.expires_at <= now)
    return (func.coalesce(func.sum(T.amount).filter(due_filter), 0),
            -func.coalesce(func.sum(T.amount).filter(T.amount < 0), 0),
            -func.coalesce(func.sum(T.amount).filter(T.kind == "expire"), 0),
            func.max(T.expires_at).filter(due_filter))


def _users_with_points_due(now: datetime) -> list[int]:
    due, debits, _, _ = _expiry_columns(now)
    stmt = (select(T.user_id).where(_effective()).group_by(T.user_id).having(due > debits).order_by(T.user_id))
    return list(db.session.execute(stmt).scalars())


def expire_user(user_id: int, now: datetime) -> PointsTransaction | None:
    """Expire the user's due, unconsumed points (one row), in the caller's transaction.
    The reference names the user, the latest due expiry date and the expired total after
    this row, so two runs that saw the same state write one row and a re-run writes none."""
    account = _lock_account(user_id)
    state = _ExpiryState(*db.session.execute(select(*_expiry_columns(now)).where(
        T.user_id == user_id, _effective())).one())
    amount = min(state.to_expire, account.balance)
    if amount <= 0:
        return None
    reference = f"expire:{user_id}:{local(state.latest).date().isoformat()}:{state.expired + amount}"
    last_day = local(state.latest - timedelta(microseconds=1)).date().isoformat()
    return _insert(account, kind="expire", amount=-amount, reference=reference,
                   note=f"有效期至 {last_day} 及之前的积分已过期", created_at=now)


def expire_due(now: datetime | None = None) -> int:
    """Sweep "points_expire": expire every user's points past their expiry that were not
    used (FIFO), one row per user, committing per user. Conditional and idempotent: a second
    run (or a concurrent one) writes nothing. Returns the rows written."""
    now = now or utcnow()
    written = 0
    for user_id in _users_with_points_due(now):
        try:  # one transaction per user: each account is locked only briefly
            row = expire_user(user_id, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("points expiry failed for user %s", user_id)
            continue
        written += row is not None
    db.session.commit()
    return written


# --- the ledger check ----------------------------------------------------------------------

def check_ledger() -> list[dict]:
    """Every inconsistency between the ledger and the cached accounts; [] when sound.

    For every user: the cached balance equals the sum of their transactions and is not
    negative, earned_total and spent_total equal what the rows say, every row's
    balance_after equals the running sum in ledger order, every reversal is the exact
    opposite of the row it reverses and belongs to the same user, and a user with
    transactions has an account. Each problem: {user_id, problem, message, expected, actual}."""
    problems: list[dict] = []
    original = aliased(T)
    credit_kinds = case((T.kind == "earn", T.amount), (and_(T.kind == "adjust", T.amount > 0), T.amount),
                        (and_(T.kind == "reverse", original.kind.in_(("earn", "adjust")), original.amount > 0),
                         T.amount), else_=0)
    spent_kinds = case((T.kind == "spend", -T.amount), (and_(T.kind == "reverse", original.kind == "spend"),
                                                        -T.amount), else_=0)
    sums = (select(T.user_id.label("user_id"), func.sum(T.amount).label("balance"),
                   func.sum(credit_kinds).label("earned"), func.sum(spent_kinds).label("spent"))
            .outerjoin(original, original.id == T.reverses_id).group_by(T.user_id).subquery())
    A = PointsAccount
    rows = db.session.execute(
        select(func.coalesce(A.user_id, sums.c.user_id), A.user_id.is_not(None), A.balance, A.earned_total,
               A.spent_total, func.coalesce(sums.c.balance, 0), func.coalesce(sums.c.earned, 0),
               func.coalesce(sums.c.spent, 0))
        .select_from(A).join(sums, sums.c.user_id == A.user_id, full=True)
        .order_by(func.coalesce(A.user_id, sums.c.user_id))).all()
    for user_id, has_account, bal, earned, spent, sum_bal, sum_earned, sum_spent in rows:
        if not has_account:
            problems.append(_problem(user_id, "account_missing", "有积分记录但没有积分账户", sum_bal, None))
            continue
        if bal < 0:
            problems.append(_problem(user_id, "balance_negative", "积分余额为负数", 0, bal))
        if bal != sum_bal:
            problems.append(_problem(user_id, "balance_mismatch", "缓存余额与积分记录合计不一致", sum_bal, bal))
        if earned != sum_earned:
            problems.append(_problem(user_id, "earned_total_mismatch", "累计获得与积分记录不一致", sum_earned, earned))
        if spent != sum_spent:
            problems.append(_problem(user_id, "spent_total_mismatch", "累计使用与积分记录不一致", sum_spent, spent))

    running = func.sum(T.amount).over(partition_by=T.user_id, order_by=T.id)
    chain = select(T.id, T.user_id, T.balance_after, running.label("running")).subquery()
    for tx_id, user_id, after, run in db.session.execute(
            select(chain).where(chain.c.balance_after != chain.c.running).order_by(chain.c.id)):
        problems.append(_problem(user_id, "balance_after_mismatch", f"记录 #{tx_id} 的变动后余额与累计不一致",
                                 run, after, transaction_id=tx_id))
    for tx_id, user_id, amount, orig_id, orig_amount in db.session.execute(
            select(T.id, T.user_id, T.amount, original.id, original.amount)
            .join(original, original.id == T.reverses_id)
            .where((T.amount != -original.amount) | (T.user_id != original.user_id)).order_by(T.id)):
        problems.append(_problem(user_id, "reversal_mismatch", f"撤销记录 #{tx_id} 与原记录 #{orig_id} 不对应",
                                 -orig_amount, amount, transaction_id=tx_id))
    return problems


def _problem(user_id, code: str, message: str, expected, actual, **extra) -> dict:
    return {"user_id": user_id, "problem": code, "message": message, "expected": expected, "actual": actual,
            **extra}


def ledger_stats() -> dict:
    return {"accounts": db.session.execute(select(func.count()).select_from(PointsAccount)).scalar_one(),
            "transactions": db.session.execute(select(func.count()).select_from(T)).scalar_one(),
            "points": db.session.execute(select(func.coalesce(func.sum(PointsAccount.balance), literal(0))))
            .scalar_one()}
