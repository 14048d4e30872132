"""Sending through the WeChat stand-in: consents used and exhausted, definite errors retried
with back-off until they succeed (one delivery per message) or run out of attempts, and
every ambiguous outcome left `unknown` and never resent."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from app.extensions import db
from app.notify import backoff, notify, retry_due, send_outbox
from app.timeutil import utcnow
from miniapp_api.wechat import get_client
from models.notifications import NotificationOutbox
from tests.notifications.conftest import WECHAT_TIMEOUT, make_due, outbox, remaining
from tests.support.live import free_port


def _notice(user, subject: str = "会议室预订", template: str = "order_status_changed") -> int:
    context = {"service": subject, "order_no": f"NO-{subject}", "status": "已通过", "remark": "", "time": utcnow(),
               "subject": subject, "start": utcnow()}
    notice = notify(user.id, template, context)
    db.session.commit()
    return notice.outbox.id


def _send_with_one_fault(wx_user, standin, *fault_path: str, consents: int = 1, **fault):
    """A notice to a user with `consents` one-time consents, sent while WeChat answers the
    one next call (to SEND, or to the path given) with `fault`: (user, outbox id, outcome)."""
    user = wx_user(consents={"order_status_changed": consents})
    outbox_id = _notice(user)
    standin.fault(*fault_path, times=1, **fault)
    return user, outbox_id, send_outbox(outbox_id)


def _about(value, expected, slack: float = 5) -> bool:
    return abs((value - expected).total_seconds()) <= slack


def test_sent_with_the_right_payload_and_one_consent_used(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 2})
    outbox_id = _notice(user)
    assert send_outbox(outbox_id) == "sent"
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.msgid, row.last_error) == ("sent", 1, "1", None)
    assert row.sent_at is not None and row.next_attempt_at is None
    assert remaining(user.id, "order_status_changed") == 1
    [delivered] = standin.delivered()
    assert delivered["touser"] == f"o-{user.id}" and delivered["template_id"] == "TPL-ORDER"
    assert delivered["page"] == "pages/orders/detail?no=NO-会议室预订"
    assert (delivered["miniprogram_state"], delivered["lang"]) == ("trial", "zh_CN")
    assert delivered["data"]["thing2"] == {"value": "会议室预订"} and delivered["data"]["thing5"] == {"value": "无"}
    # Sending it again is a no-op: the row is no longer claimable.
    assert send_outbox(outbox_id) is None
    assert len(standin.calls()) == 1


def test_no_consent_means_consent_exhausted_without_calling_wechat(nx, wx_user, standin):
    user = wx_user()
    outbox_id = _notice(user)
    assert send_outbox(outbox_id) == "consent_exhausted"
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("consent_exhausted", 0, None)
    assert standin.calls() == [] and standin.calls("cgi-bin/stable_token") == []
    assert retry_due() == 0  # final


def test_one_time_consents_are_counted(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 2})
    ids = [_notice(user, f"订单{n}") for n in range(3)]
    assert [send_outbox(i) for i in ids] == ["sent", "sent", "consent_exhausted"]
    assert remaining(user.id, "order_status_changed") == 0
    assert len(standin.calls()) == 2 and len(standin.delivered()) == 2


def test_long_term_consent_is_not_used_up(nx, wx_user, standin):
    user = wx_user(long_term=("duty_reminder",))
    ids = [_notice(user, f"值班{n}", template="duty_reminder") for n in range(3)]
    assert [send_outbox(i) for i in ids] == ["sent"] * 3
    assert remaining(user.id, "duty_reminder") == 0  # never counted
    # A one-time consent does not stand in for a long-term template's consent.
    other = wx_user(consents={"duty_reminder": 5})
    assert send_outbox(_notice(other, "值班", template="duty_reminder")) == "consent_exhausted"
    assert len(standin.delivered()) == 3


def test_43101_means_consent_exhausted_and_the_count_zeroed(nx, wx_user, standin):
    user, outbox_id, outcome = _send_with_one_fault(wx_user, standin, consents=3, errcode=43101)
    assert outcome == "consent_exhausted"
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("consent_exhausted", 1, None)
    assert row.last_error == "errcode 43101"
    assert remaining(user.id, "order_status_changed") == 0
    # The next notice does not even try.
    assert send_outbox(_notice(user, "下一单")) == "consent_exhausted"
    make_due(outbox_id)
    assert retry_due() == 0
    assert len(standin.calls()) == 1 and standin.delivered() == []


def _closed_port_base() -> str:
    return f"http://127.0.0.1:{free_port()}/"  # nothing listens there: connection refused


def _point_at(nx, monkeypatch, base: str) -> None:
    monkeypatch.setitem(nx.config, "WECHAT_API_BASE", base)
    nx.extensions.pop("wechat_client", None)


@pytest.mark.parametrize("fault", [{"errcode": -1}, {"status": 500}, {"status": 502}, "refused"],
                         ids=["errcode-1", "http500", "http502", "connection-refused"])
def test_definite_errors_are_retried_with_backoff_until_sent(nx, wx_user, standin, monkeypatch, fault):
    user = wx_user(consents={"order_status_changed": 1})
    outbox_id = _notice(user)
    if fault == "refused":
        get_client().fetch_access_token()  # token in Redis: the send itself meets the closed port
        _point_at(nx, monkeypatch, _closed_port_base())
    else:
        standin.fault(times=2, **fault)

    assert send_outbox(outbox_id) == "failed"
    row = outbox(outbox_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert _about(row.next_attempt_at, utcnow() + timedelta(minutes=1))
    assert remaining(user.id, "order_status_changed") == 0  # used once for the message, not per attempt
    # Not due yet: the sweep leaves it alone.
    assert retry_due() == 0 and outbox(outbox_id).attempts == 1

    make_due(outbox_id)
    assert retry_due() == 1
    row = outbox(outbox_id)
    assert (row.status, row.attempts) == ("failed", 2)
    assert _about(row.next_attempt_at, utcnow() + timedelta(minutes=2))  # back-off doubles

    if fault == "refused":
        _point_at(nx, monkeypatch, standin.url)
    make_due(outbox_id)
    assert retry_due() == 1
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("sent", 3, None)
    make_due(outbox_id)
    assert retry_due() == 0
    assert len(standin.delivered_to(f"o-{user.id}")) == 1
    assert len(standin.calls()) == (1 if fault == "refused" else 3)


def test_token_unobtainable_is_a_definite_failure(nx, wx_user, standin, monkeypatch):
    _, outbox_id, outcome = _send_with_one_fault(wx_user, standin, "cgi-bin/stable_token", status=502)
    assert outcome == "failed"
    assert outbox(outbox_id).last_error == "access token: errcode None"
    _point_at(nx, monkeypatch, _closed_port_base())  # and the token fetch refused outright
    make_due(outbox_id)
    assert retry_due() == 1 and outbox(outbox_id).last_error == "access token: ConnectionError"
    _point_at(nx, monkeypatch, standin.url)
    make_due(outbox_id)
    assert retry_due() == 1
    assert outbox(outbox_id).status == "sent" and len(standin.calls()) == 1


def test_expired_token_is_refetched_and_sent_once(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 1})
    outbox_id = _notice(user)
    get_client().fetch_access_token()
    standin.http.post(standin.url + "_standin/expire-tokens").raise_for_status()
    assert send_outbox(outbox_id) == "sent"
    assert len(standin.calls()) == 2 and len(standin.delivered()) == 1  # 40001, then delivered


def test_final_failure_after_the_maximum_attempts(nx, wx_user, standin, monkeypatch):
    monkeypatch.setitem(nx.config, "NOTIFY_MAX_ATTEMPTS", 3)
    user = wx_user(consents={"order_status_changed": 1})
    outbox_id = _notice(user)
    standin.fault(errcode=-1, times=-1)  # WeChat busy until further notice
    assert send_outbox(outbox_id) == "failed"
    for attempt in (2, 3):
        make_due(outbox_id)
        assert retry_due() == 1
        assert outbox(outbox_id).attempts == attempt
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert row.last_error.startswith("errcode -1")
    # Final: no further attempt, even once WeChat recovers.
    standin.clear_faults()
    assert retry_due() == 0
    assert len(standin.calls()) == 3 and standin.delivered() == []
    # WeChat never used the consent: it is given back.
    assert remaining(user.id, "order_status_changed") == 1


def test_argument_errors_are_final_at_once(nx, wx_user, standin):
    _, outbox_id, outcome = _send_with_one_fault(wx_user, standin, errcode=47003)
    assert outcome == "failed"
    row = outbox(outbox_id)
    assert (row.attempts, row.next_attempt_at) == (1, None)
    assert retry_due() == 0 and len(standin.calls()) == 1


def _wait_for(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_timeout_leaves_unknown_and_is_never_resent(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 3})
    outbox_id = _notice(user)
    standin.fault(delay=WECHAT_TIMEOUT + 0.5, times=1)
    started = time.monotonic()
    assert send_outbox(outbox_id) == "unknown"
    assert time.monotonic() - started < WECHAT_TIMEOUT + 0.5
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == ("unknown", 1, None, "ReadTimeout")
    for _ in range(3):
        make_due(outbox_id)
        assert retry_due() == 0
        assert send_outbox(outbox_id) is None
    # WeChat did deliver it after all: once, from the one call made.
    _wait_for(lambda: len(standin.delivered()) == 1)
    assert len(standin.calls()) == 1
    assert outbox(outbox_id).status == "unknown"
    assert remaining(user.id, "order_status_changed") == 2


def test_gateway_timeout_is_unknown(nx, wx_user, standin):
    _, outbox_id, outcome = _send_with_one_fault(wx_user, standin, status=504)
    assert outcome == "unknown"
    make_due(outbox_id)
    assert retry_due() == 0 and len(standin.calls()) == 1


class _DropAfterRequest:
    """A 'WeChat' that reads the whole request and closes the connection without answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests += 1

    def close(self):
        self.sock.close()


def test_connection_dropped_after_sending_is_unknown(nx, wx_user, standin, monkeypatch):
    user = wx_user(consents={"order_status_changed": 1})
    outbox_id = _notice(user)
    get_client().fetch_access_token()  # from the stand-in, kept in Redis
    drop = _DropAfterRequest()
    try:
        _point_at(nx, monkeypatch, drop.url)
        assert send_outbox(outbox_id) == "unknown"
        assert drop.requests == 1
        assert outbox(outbox_id).last_error == "ConnectionError"
        make_due(outbox_id)
        assert retry_due() == 0 and drop.requests == 1
    finally:
        drop.close()


def test_sender_lost_mid_send_becomes_unknown(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 1})
    outbox_id = _notice(user)
    # A worker claimed the row and died: it stays `sending` until the sweep gives up on it.
    db.session.execute(update(NotificationOutbox).where(NotificationOutbox.id == outbox_id)
                       .values(status="sending", claimed_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert retry_due() == 0 and outbox(outbox_id).status == "sending"
    db.session.execute(update(NotificationOutbox).where(NotificationOutbox.id == outbox_id)
                       .values(claimed_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    assert retry_due() == 1
    row = outbox(outbox_id)
    assert (row.status, row.next_attempt_at) == ("unknown", None)
    assert retry_due() == 0 and standin.calls() == []


def test_queued_rows_whose_job_was_lost_are_sent_by_the_sweep(nx, wx_user, standin):
    user = wx_user(consents={"order_status_changed": 2})
    first, second = _notice(user, "甲"), _notice(user, "乙")
    assert retry_due() == 0  # within the grace period the jobs are expected to run
    make_due(first, second)
    assert retry_due() == 2
    assert outbox(first).status == outbox(second).status == "sent"
    assert send_outbox(first) is None  # the late job finds nothing to do
    assert retry_due() == 0
    assert len(standin.calls()) == 2 and len(standin.delivered()) == 2


def test_backoff_doubles_and_is_capped(nx):
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_classification_of_network_errors():
    """Only errors raised before anything was sent count as definite (retryable) failures."""
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

    from app.notify import _connection_never_made

    refused = NewConnectionError(HTTPConnection("127.0.0.1", 1), "Connection refused")
    never = [requests.exceptions.ConnectTimeout("connect timed out"),
             requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason=refused)),
             requests.exceptions.ProxyError(MaxRetryError(None, "/x", reason=refused))]
    maybe = [requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/x", "read timed out")),
             requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
             requests.exceptions.ChunkedEncodingError("broken answer")]
    assert [_connection_never_made(e) for e in never] == [True] * len(never)
    assert [_connection_never_made(e) for e in maybe] == [False] * len(maybe)
