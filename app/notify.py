"""Notifications: the one function every domain calls, and the WeChat subscribe-message sender.

    from app.notify import notify

    notify(user.id, "order_status_changed",
           {"service": "会议室预订", "order_no": booking.no, "status": "已通过", "time": booking.start_at},
           page=f"pages/rooms/booking?id={booking.id}")
    db.session.commit()

`notify` works inside the caller's transaction. It always writes an in-app message (站内
消息); when the template is a WeChat template and the user has a WeChat identity for the
configured app id, it also writes an outbox row (`queued`), and queues `send_outbox` once
the transaction commits. A rolled-back transaction leaves no message, no row and no job.

Sending (`send_outbox`, a job; `retry_due`, the `notifications_retry` sweep):
1. claim the row with a conditional UPDATE (queued, or failed and due → sending), and in
   the same transaction use one of the user's one-time consents for the template (a
   conditional decrement; a long-term consent is only checked). No consent: the row ends
   `consent_exhausted` and WeChat is not called.
2. call `message/subscribe/send` outside any transaction, and classify what happened:
   errcode 0 → `sent`; 43101 → `consent_exhausted` (and the consent count is zeroed);
   a definite refusal (another errcode, an HTTP error status, a connection that was never
   made, the access token unobtainable) → `failed`, retried with exponential back-off until
   NOTIFY_MAX_ATTEMPTS; anything after which WeChat may have delivered it (a read timeout,
   a connection dropped mid-answer, a gateway timeout, a garbled answer) → `unknown`,
   never resent: subscribe/send has no idempotency key.
3. record the outcome. A worker that dies between 1 and 3 leaves the row `sending`; the sweep
   turns rows left `sending` longer than NOTIFY_SENDING_STALE_SECONDS into `unknown`.

Templates are configuration: NOTIFICATION_TEMPLATES (a dict in the app config) and the JSON
file named by NOTIFICATION_TEMPLATES_FILE override DEFAULT_TEMPLATES entry by entry (the file
wins). DEFAULT_TEMPLATES holds the platform's own; each domain adds its defaults with
`register_templates` at import of its service module, beside its error codes. Each entry:
template_id (from the mini-program console; empty = in-app only), title and body (Chinese
format strings for the in-app message), page (format string, optional), fields
({"thing1": "{subject}", "time2": "{start}"}), long_term (a long-term template).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import redis
import requests
from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from urllib3.exceptions import NewConnectionError
from wechatpy.exceptions import WeChatClientException

from app.errors import AppError, register_codes
from app.extensions import db
from app.jobs import enqueue_after_commit, job
from app.timeutil import SHANGHAI, utcnow
from models.identity import WechatIdentity
from models.notifications import InAppMessage, NotificationConsent, NotificationOutbox

log = logging.getLogger(__name__)

register_codes({
    "NOTIFY_TEMPLATE_UNKNOWN": (
        422, "未知的订阅消息模板",
        "Consents: a name is not a subscribe-message template of this server; `details.unknown` lists "
        "them, `details.templates` the known ones (GET /api/v1/notifications/templates)."),
})

# --- configuration ------------------------------------------------------------------------

# Placeholders until the template ids of the mini-program console are configured: a template
# without template_id is in-app only.
DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "welcome": {
        "title": "欢迎使用机关后勤服务平台",
        "body": "{name}，您好！在这里可以预约用餐、会议室和车位，登记访客，报修并评价每一次服务。",
        "page": "pages/index/index",
    },
    "generic_notice": {
        "template_id": "",
        "title": "{title}",
        "body": "{content}",
        "page": "pages/messages/index",
        "fields": {"thing1": "{title}", "thing2": "{content}", "time3": "{now}"},
        "long_term": False,
    },
    "order_status_changed": {
        "template_id": "",
        "title": "{service}状态更新：{status}",
        "body": "您的{service}（单号 {order_no}）状态已变更为：{status}。{remark}",
        "page": None,
        "fields": {"character_string1": "{order_no}", "thing2": "{service}", "phrase3": "{status}",
                   "time4": "{time}", "thing5": "{remark}"},
        "long_term": False,
    },
}


def register_templates(entries: dict[str, dict[str, Any]]) -> None:
    """Add a domain's default templates (at import time of the domain's module, like
    `register_codes`); NOTIFICATION_TEMPLATES and the file override them like the others."""
    for name, entry in entries.items():
        if name in DEFAULT_TEMPLATES and DEFAULT_TEMPLATES[name] != entry:
            raise ValueError(f"notification template {name!r} registered twice with different contents")
        DEFAULT_TEMPLATES[name] = entry


# Subscribe-message value limits per field type (characters), from WeChat's documentation
# (订阅消息 "参数值内容限制"). thing/short_thing get an ellipsis when cut; the others are
# only cut (phrase must be Chinese characters only). time/date/amount are formats, not free
# text: passed as they are.
FIELD_LIMITS = {
    "thing": 20, "short_thing": 5, "phrase": 5, "number": 32, "letter": 32, "symbol": 5,
    "character_string": 32, "phone_number": 17, "car_number": 8, "name": 10,
}
ELLIPSIS_TYPES = ("thing", "short_thing")
EMPTY_PLACEHOLDER = {"thing": "无", "short_thing": "无", "phrase": "无", "name": "无"}

MINIPROGRAM_STATES = ("developer", "trial", "formal")
# errcodes after which a retry cannot help: the row fails for good at once.
PERMANENT_ERRCODES = {
    40003: "invalid openid", 40037: "invalid template_id", 41030: "invalid page",
    47003: "invalid argument (template data)",
}
CONSENT_EXHAUSTED_ERRCODE = 43101
SEND_PATH = "message/subscribe/send"


def max_attempts() -> int:
    return current_app.config["NOTIFY_MAX_ATTEMPTS"]


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th definite failure: 1, 2, 4, 8 ... minutes, capped."""
    base = float(current_app.config["NOTIFY_BACKOFF_SECONDS"])
    cap = float(current_app.config["NOTIFY_BACKOFF_MAX_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


class TemplateError(ValueError):
    """A template is unknown, misconfigured, or its context lacks a value (a programming error)."""


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    body: str
    page: str | None
    template_id: str
    fields: dict[str, str]
    long_term: bool

    @property
    def wechat(self) -> bool:
        """A WeChat subscribe-message template (otherwise in-app only)."""
        return bool(self.template_id) and bool(self.fields)


def _template(name: str, entry: dict, origin: str) -> Template:
    def fail(why: str):
        raise TemplateError(f"notification template {name!r} ({origin}): {why}")

    if not isinstance(entry, dict):
        fail("must be an object")
    unknown = set(entry) - {"template_id", "title", "body", "page", "fields", "long_term"}
    if unknown:
        fail(f"unknown keys {sorted(unknown)}")
    title, body = entry.get("title"), entry.get("body", "")
    page, template_id = entry.get("page"), entry.get("template_id") or ""
    fields, long_term = entry.get("fields") or {}, entry.get("long_term", False)
    if not isinstance(title, str) or not title:
        fail("title (a format string) is required")
    if not isinstance(body, str) or not isinstance(template_id, str) or not isinstance(long_term, bool):
        fail("body and template_id must be strings, long_term a boolean")
    if page is not None and not isinstance(page, str):
        fail("page must be a string")
    if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        fail('fields must map WeChat keys to format strings, e.g. {"thing1": "{subject}"}')
    if template_id and not fields:
        fail("a WeChat template needs fields")
    return Template(name, title, body, page or None, template_id, dict(fields), long_term)


def load_templates(config) -> dict[str, Template]:
    merged: dict[str, tuple[dict, str]] = {name: (dict(e), "defaults") for name, e in DEFAULT_TEMPLATES.items()}
    sources: list[tuple[str, Any]] = []
    if config.get("NOTIFICATION_TEMPLATES"):
        sources.append(("NOTIFICATION_TEMPLATES", config["NOTIFICATION_TEMPLATES"]))
    path = config.get("NOTIFICATION_TEMPLATES_FILE")
    if path:
        try:
            sources.append((path, json.loads(Path(path).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise TemplateError(f"NOTIFICATION_TEMPLATES_FILE {path}: {exc}") from exc
    for origin, overrides in sources:
        if not isinstance(overrides, dict):
            raise TemplateError(f"{origin}: must be an object of template name → template")
        for name, entry in overrides.items():
            if not isinstance(entry, dict):
                raise TemplateError(f"notification template {name!r} ({origin}): must be an object")
            merged[name] = ({**merged.get(name, ({}, ""))[0], **entry}, origin)
    return {name: _template(name, entry, origin) for name, (entry, origin) in merged.items()}


def templates(app: Flask | None = None) -> dict[str, Template]:
    """The configured templates (read once per app; a bad configuration raises TemplateError)."""
    app = app or current_app._get_current_object()
    if "notification_templates" not in app.extensions:
        app.extensions["notification_templates"] = load_templates(app.config)
    return app.extensions["notification_templates"]


def wechat_templates() -> dict[str, Template]:
    return {name: t for name, t in templates().items() if t.wechat}


# --- rendering ----------------------------------------------------------------------------

class LocalTime(datetime):
    """A datetime in Asia/Shanghai that formats as "2026-11-23 14:30" unless given a format
    spec ("{start:%m月%d日 %H:%M}")."""

    def __format__(self, spec: str) -> str:
        return super().__format__(spec) if spec else self.strftime("%Y-%m-%d %H:%M")


class _Values(dict):
    def __missing__(self, key):
        raise TemplateError(f"missing context value {key!r}")


def _prepare(context: dict) -> _Values:
    values = _Values(now=utcnow())
    values.update(context)
    for key, value in values.items():
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # stored times are UTC
            values[key] = LocalTime.fromtimestamp(aware.timestamp(), SHANGHAI)
        elif isinstance(value, date):
            values[key] = value.isoformat()
        elif value is None:
            values[key] = ""
    return values


def _render(fmt: str, values: _Values, template: str) -> str:
    try:
        return fmt.format_map(values)
    except TemplateError as exc:
        raise TemplateError(f"template {template!r}: {exc}") from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise TemplateError(f"template {template!r}: cannot format {fmt!r}: {exc}") from None


def field_type(key: str) -> str:
    """The type of a field key: thing1 → thing, character_string12 → character_string."""
    return key.rstrip("0123456789")


def fit_value(key: str, value: str) -> str:
    """One value within WeChat's limits for its field type: one line, cut to the maximum
    length (with an ellipsis where free text allows one)."""
    kind = field_type(key)
    value = " ".join(value.split())
    if not value:
        return EMPTY_PLACEHOLDER.get(kind, value)
    limit = FIELD_LIMITS.get(kind)
    if kind == "name" and value.isascii():
        limit = 20  # 10 Chinese characters, or 20 letters
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…" if kind in ELLIPSIS_TYPES else value[:limit]


# --- notify -------------------------------------------------------------------------------

class Notice(NamedTuple):
    message: InAppMessage
    outbox: NotificationOutbox | None


def notify(user_id: int, template_name: str, context: dict, page: str | None = None) -> Notice:
    """Write an in-app message (and, for a WeChat template and a user with a WeChat identity,
    a queued outbox row) in the caller's transaction; the send job is queued after commit.
    `page` (a mini-program page, "pages/x/y?id=1") overrides the template's page.
    Raises TemplateError for an unknown template or a missing context value."""
    template = templates().get(template_name)
    if template is None:
        raise TemplateError(f"unknown notification template {template_name!r}")
    values = _prepare(context)
    rendered = {key: _render(fmt, values, template_name) for key, fmt in template.fields.items()}
    title = _render(template.title, values, template_name).strip()[:100]
    body = (_render(template.body, values, template_name) if template.body
            else "；".join(v for v in rendered.values() if v)).strip()
    if page is None and template.page:
        page = _render(template.page, values, template_name)
    if page is not None and len(page) > 255:
        raise TemplateError(f"template {template_name!r}: page longer than 255 characters")

    message = InAppMessage(user_id=user_id, template=template_name, title=title, body=body, page=page or None)
    db.session.add(message)
    outbox = None
    appid = current_app.config.get("WECHAT_APPID")
    if template.wechat and appid:
        openid = db.session.execute(select(WechatIdentity.openid).where(
            WechatIdentity.user_id == user_id, WechatIdentity.appid == appid)).scalar_one_or_none()
        if openid:
            outbox = NotificationOutbox(
                user_id=user_id, message=message, template=template_name, template_id=template.template_id,
                long_term=template.long_term, openid=openid, page=page or None,
                data={key: fit_value(key, value) for key, value in rendered.items()},
                # The sweep takes the row over if its job is lost (the database's clock, as the sweep's).
                next_attempt_at=func.now() + timedelta(seconds=current_app.config["NOTIFY_QUEUED_GRACE_SECONDS"]))
            db.session.add(outbox)
    db.session.flush()
    if outbox is not None:
        enqueue_after_commit(send_outbox, outbox.id)
    return Notice(message, outbox)


# --- consents -----------------------------------------------------------------------------

def record_consents(user_id: int, accepted: list[str], rejected: list[str]) -> list[NotificationConsent]:
    """What `wx.requestSubscribeMessage` answered: each accepted one-time template gains one
    consent, an accepted long-term template is on until rejected. A rejected one-time
    template keeps the consents it has (WeChat keeps them too; a 43101 zeroes the count)."""
    known = wechat_templates()
    unknown = sorted({n for n in (*accepted, *rejected) if n not in known})
    if unknown:
        raise AppError("NOTIFY_TEMPLATE_UNKNOWN", details={"unknown": unknown, "templates": sorted(known)})
    now = utcnow()
    table = NotificationConsent.__table__
    for name in dict.fromkeys(accepted):
        long_term = known[name].long_term
        stmt = insert(table).values(user_id=user_id, template=name, remaining=0 if long_term else 1,
                                    long_term=long_term, accepted_at=now)
        changes = {"accepted_at": now, "updated_at": func.now()}
        changes.update({"long_term": True} if long_term else {"remaining": table.c.remaining + 1})
        db.session.execute(stmt.on_conflict_do_update(index_elements=["user_id", "template"], set_=changes))
    for name in dict.fromkeys(rejected):
        stmt = insert(table).values(user_id=user_id, template=name, remaining=0, long_term=False, rejected_at=now)
        changes = {"rejected_at": now, "updated_at": func.now()}
        if known[name].long_term:
            changes["long_term"] = False
        db.session.execute(stmt.on_conflict_do_update(index_elements=["user_id", "template"], set_=changes))
    names = list(dict.fromkeys((*accepted, *rejected)))
    return consents_of(user_id, names)


def consents_of(user_id: int, names: list[str] | None = None) -> list[NotificationConsent]:
    stmt = select(NotificationConsent).where(NotificationConsent.user_id == user_id)
    if names is not None:
        stmt = stmt.where(NotificationConsent.template.in_(names))
    return list(db.session.execute(stmt.order_by(NotificationConsent.template).execution_options(
        populate_existing=True)).scalars())


def _use_consent(user_id: int, template: str, long_term: bool) -> bool:
    """Use one one-time consent (a conditional decrement), or check a long-term consent."""
    c = NotificationConsent
    if long_term:
        stmt = select(c.id).where(c.user_id == user_id, c.template == template, c.long_term.is_(True))
        return db.session.execute(stmt).first() is not None
    stmt = (update(c).where(c.user_id == user_id, c.template == template, c.remaining > 0)
            .values(remaining=c.remaining - 1, updated_at=func.now()).returning(c.id))
    return db.session.execute(stmt).first() is not None


# --- sending ------------------------------------------------------------------------------

SENT, EXHAUSTED, FAILED, PERMANENT, UNKNOWN = "sent", "consent_exhausted", "failed", "permanent", "unknown"


@dataclass(frozen=True)
class Outcome:
    kind: str
    error: str | None = None
    msgid: str | None = None


def _connection_never_made(exc: BaseException) -> bool:
    """A connect timeout, or a connection refused / unresolvable / unreachable: nothing was
    sent. A connection reset or closed after the request went out is not one of these."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError):
            return True
        if isinstance(item, BaseException):
            # How requests wraps urllib3: ConnectionError(MaxRetryError(reason=NewConnectionError)).
            stack.extend([getattr(item, "reason", None), item.__cause__,
                          *[a for a in item.args if isinstance(a, BaseException)]])
    return False


def _not_the_send(exc: BaseException) -> bool:
    """The failing request was not subscribe/send itself (the access-token refetch after a
    40001): the message was refused, so nothing was delivered."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    return bool(url) and SEND_PATH not in url


def _errcode_of(exc: WeChatClientException) -> int | None:
    try:
        return None if exc.errcode is None else int(exc.errcode)
    except (TypeError, ValueError):
        return None


def call_wechat(payload: dict) -> Outcome:
    """POST message/subscribe/send and say what happened (never raises)."""
    from miniapp_api.wechat import get_client

    try:
        client = get_client()
        client.access_token  # noqa: B018 - fetched (or read from Redis) before anything is sent
    except AppError as exc:
        return Outcome(FAILED, exc.code)
    except WeChatClientException as exc:
        return Outcome(FAILED, f"access token: errcode {exc.errcode}")
    except (requests.RequestException, redis.RedisError, KeyError, ValueError, TypeError) as exc:
        return Outcome(FAILED, f"access token: {type(exc).__name__}")

    try:
        result = client.post(SEND_PATH, data=payload)
    except WeChatClientException as exc:
        errcode = _errcode_of(exc)
        if errcode == CONSENT_EXHAUSTED_ERRCODE:
            return Outcome(EXHAUSTED, f"errcode {errcode}")
        if errcode is not None:
            kind = PERMANENT if errcode in PERMANENT_ERRCODES and not _not_the_send(exc) else FAILED
            return Outcome(kind, f"errcode {errcode}: {str(exc.errmsg or '')[:120]}")
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 504 and not _not_the_send(exc):  # a gateway gave up waiting for WeChat
            return Outcome(UNKNOWN, "HTTP 504 from the gateway")
        return Outcome(FAILED, f"HTTP {status}")
    except requests.RequestException as exc:
        if _connection_never_made(exc) or _not_the_send(exc):
            return Outcome(FAILED, type(exc).__name__)
        return Outcome(UNKNOWN, type(exc).__name__)
    except redis.RedisError as exc:  # the token store, read before any (re)send
        return Outcome(FAILED, f"token store: {type(exc).__name__}")
    except Exception as exc:  # a bug or a garbled answer after sending: never resend
        log.exception("subscribe/send raised after the request may have gone out")
        return Outcome(UNKNOWN, type(exc).__name__)
    if not isinstance(result, dict):
        return Outcome(UNKNOWN, "answer is not JSON")
    msgid = result.get("msgid")
    return Outcome(SENT, msgid=None if msgid is None else str(msgid)[:64])


def _claim(outbox_id: int) -> NotificationOutbox | None:
    o = NotificationOutbox
    now = func.now()
    stmt = (update(o).where(o.id == outbox_id, or_(o.status == "queued",
                                                   and_(o.status == "failed", o.next_attempt_at <= now)))
            .values(status="sending", claimed_at=now, updated_at=now)
            .returning(o.id))
    if db.session.execute(stmt).first() is None:
        return None
    return db.session.execute(select(o).where(o.id == outbox_id).execution_options(
        populate_existing=True)).scalar_one()


def _finish(outbox_id: int, **values) -> None:
    o = NotificationOutbox
    db.session.execute(update(o).where(o.id == outbox_id, o.status.in_(("sending", "unknown")))
                       .values(updated_at=func.now(), **values))


def deliver(outbox_id: int) -> str | None:
    """Send one outbox row if it can be claimed; returns its new status (None: not claimed)."""
    row = _claim(outbox_id)
    if row is None:
        db.session.rollback()
        return None
    if not row.consent_used:
        if not _use_consent(row.user_id, row.template, row.long_term):
            _finish(outbox_id, status="consent_exhausted", next_attempt_at=None,
                    last_error="no consent left (not sent)")
            db.session.commit()
            return "consent_exhausted"
        row.consent_used = True
    payload = {"touser": row.openid, "template_id": row.template_id,
               "data": {key: {"value": value} for key, value in row.data.items()},
               "miniprogram_state": miniprogram_state(), "lang": current_app.config["NOTIFY_LANG"]}
    if row.page:
        payload["page"] = row.page
    attempts, user_id, template, long_term = row.attempts + 1, row.user_id, row.template, row.long_term
    db.session.commit()  # the claim (and the consent used) stand before WeChat is called

    outcome = call_wechat(payload)

    o = NotificationOutbox
    if outcome.kind == SENT:
        status = "sent"
        _finish(outbox_id, status=status, attempts=o.attempts + 1, sent_at=func.now(), msgid=outcome.msgid,
                next_attempt_at=None, last_error=None)
    elif outcome.kind == EXHAUSTED:
        status = "consent_exhausted"
        _finish(outbox_id, status=status, attempts=o.attempts + 1, next_attempt_at=None,
                last_error=outcome.error)
        c = NotificationConsent
        db.session.execute(update(c).where(c.user_id == user_id, c.template == template)
                           .values(remaining=0, long_term=False, updated_at=func.now()))
    elif outcome.kind == UNKNOWN:
        status = "unknown"
        _finish(outbox_id, status=status, attempts=o.attempts + 1, next_attempt_at=None,
                last_error=outcome.error)
    else:
        status = "failed"
        final = outcome.kind == PERMANENT or attempts >= max_attempts()
        _finish(outbox_id, status=status, attempts=o.attempts + 1, last_error=(outcome.error or "")[:200],
                next_attempt_at=None if final else func.now() + backoff(attempts))
        if final and not long_term:
            # WeChat refused every attempt, so the consent was never used there: give it back.
            c = NotificationConsent
            db.session.execute(update(c).where(c.user_id == user_id, c.template == template)
                               .values(remaining=c.remaining + 1, updated_at=func.now()))
    db.session.commit()
    log.info("subscribe message %s: %s%s", outbox_id, status, f" ({outcome.error})" if outcome.error else "")
    return status


def miniprogram_state() -> str:
    state = current_app.config["NOTIFY_MINIPROGRAM_STATE"]
    if state not in MINIPROGRAM_STATES:
        raise TemplateError(f"NOTIFY_MINIPROGRAM_STATE must be one of {MINIPROGRAM_STATES}, not {state!r}")
    return state


@job
def send_outbox(outbox_id: int) -> str | None:
    """The job queued by notify(): send one outbox row (a no-op if someone else has it)."""
    return deliver(outbox_id)


def retry_due() -> int:
    """The `notifications_retry` sweep: rows left `sending` by a lost worker become `unknown`;
    rows still `queued` after their grace period (their job was lost) and `failed` rows whose
    back-off has passed are sent. Claims make a doubled run harmless. Returns rows changed."""
    o = NotificationOutbox
    stale = timedelta(seconds=float(current_app.config["NOTIFY_SENDING_STALE_SECONDS"]))
    lost = db.session.execute(
        update(o).where(o.status == "sending", o.claimed_at < func.now() - stale)
        .values(status="unknown", attempts=o.attempts + 1, next_attempt_at=None, updated_at=func.now(),
                last_error="sender stopped during the send (outcome unknown)")
        .returning(o.id)).all()
    db.session.commit()
    changed = len(lost)
    batch = int(current_app.config["NOTIFY_SWEEP_BATCH"])
    budget = float(current_app.config["NOTIFY_SWEEP_SECONDS"])
    started = time.monotonic()
    due = db.session.execute(
        select(o.id).where(o.status.in_(("queued", "failed")), o.next_attempt_at <= func.now())
        .order_by(o.next_attempt_at, o.id).limit(batch)).scalars().all()
    db.session.commit()
    for outbox_id in due:
        if time.monotonic() - started > budget:
            break  # the rest wait for the next run (RQ would kill a job that runs too long)
        if deliver(outbox_id) is not None:
            changed += 1
    return changed
