"""Idempotency keys (app/idempotency.py) on the sample order routes, and the purge sweep:
replays, reuse with another body, failures that leave no key, duplicates in flight (threads,
a live multi-process server), a lost Redis, and the sweep run twice at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.idempotency import purge_expired_keys
from app.locks import try_advisory_lock
from app.sweeps import SKIPPED, run_sweep
from app.timeutil import utcnow
from models.platform import IdempotencyKey, OrderTransition
from tests.conftest import make_test_app
from tests.identity.helpers import assert_error
from tests.platform import _workers
from tests.platform.orders import SampleOrder, register
from tests.support.live import ROOT
from tests.support.procs import run_at_once

ORDERS = "/api/v1/_sample/orders"
BODY = {"item": "套餐A", "qty": 1}


def _count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _post(client, headers, key=None, body=BODY, url=ORDERS):
    return client.post(url, json=body, headers={**headers, **({"Idempotency-Key": key} if key else {})})


@pytest.fixture
def alice(make):
    return make.headers(make.user(name="爱丽丝"))


def test_replay_returns_the_first_response_without_acting_twice(pclient, alice, redis):
    first = _post(pclient, alice, "k-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = _post(pclient, alice, "k-1", body={"qty": 1, "item": "套餐A"})  # same JSON, other key order
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.mimetype == "application/json"
    assert _count(SampleOrder) == 1 and _count(OrderTransition) == 1
    row = db.session.execute(select(IdempotencyKey)).scalar_one()
    assert (row.key, row.response_status) == ("k-1", 201)
    assert redis.exists(f"idem:{row.user_id}:k-1")
    # Redis emptied: PostgreSQL answers the replay (and refills Redis).
    redis.flushdb()
    third = _post(pclient, alice, "k-1")
    assert third.status_code == 201 and third.headers["Idempotent-Replayed"] == "true"
    assert third.get_json() == first.get_json() and _count(SampleOrder) == 1
    assert redis.exists(f"idem:{row.user_id}:k-1")
    # Another key is another order; no key at all is always a new order.
    assert _post(pclient, alice, "k-2").get_json()["id"] != first.get_json()["id"]
    _post(pclient, alice)
    _post(pclient, alice)
    assert _count(SampleOrder) == 4 and _count(IdempotencyKey) == 2


def test_keys_belong_to_their_user(pclient, alice, make):
    bob = make.headers(make.user())
    a, b = _post(pclient, alice, "same"), _post(pclient, bob, "same")
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] != b.get_json()["id"]
    assert "Idempotent-Replayed" not in b.headers


def test_same_key_with_another_request_is_422(pclient, alice):
    assert _post(pclient, alice, "k").status_code == 201
    assert_error(_post(pclient, alice, "k", body={"item": "套餐A", "qty": 2}), 422, "IDEMPOTENCY_KEY_REUSED")
    assert_error(_post(pclient, alice, "k", url="/api/v1/_sample/strict-orders"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert _count(SampleOrder) == 1


@pytest.mark.parametrize("key", ["", "x" * 101, "has space", "钥匙", "a/b", "a.b"])
def test_malformed_key_is_400(pclient, alice, key):
    assert_error(pclient.post(ORDERS, json=BODY, headers={**alice, "Idempotency-Key": key}),
                 400, "IDEMPOTENCY_KEY_INVALID")
    assert _count(SampleOrder) == 0


def test_required_key(pclient, alice):
    assert_error(_post(pclient, alice, url="/api/v1/_sample/strict-orders"), 428, "IDEMPOTENCY_KEY_REQUIRED")
    assert _post(pclient, alice, "x" * 100, url="/api/v1/_sample/strict-orders").status_code == 201
    assert_error(pclient.post(ORDERS, json=BODY, headers={"Idempotency-Key": "k"}), 401, "AUTH_REQUIRED")


def test_failed_requests_do_not_burn_the_key(pclient, alice):
    # Validation error: nothing runs, nothing is kept.
    assert_error(_post(pclient, alice, "retry-me", body={"item": "套餐A", "qty": 0}), 422, "VALIDATION_ERROR")
    # A failure after the route wrote: the order, its timeline row and the key all roll back.
    assert_error(_post(pclient, alice, "retry-me", body={"item": "sold-out", "qty": 1}), 409, "CONFLICT")
    assert _count(SampleOrder) == _count(OrderTransition) == _count(IdempotencyKey) == 0
    ok = _post(pclient, alice, "retry-me", body={"item": "套餐A", "qty": 3})
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers
    assert _post(pclient, alice, "retry-me", body={"item": "套餐A", "qty": 3}).get_json() == ok.get_json()
    assert _count(SampleOrder) == 1


def test_route_that_commits_itself_still_keeps_key_and_response(pclient, alice):
    body = {**BODY, "commit_itself": True}
    first = _post(pclient, alice, "self", body=body)
    again = _post(pclient, alice, "self", body=body)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and _count(SampleOrder) == 1


def test_duplicate_in_flight_is_409(pclient, make):
    user = make.user()
    headers = make.headers(user)
    with try_advisory_lock(f"idempotency:{user.id}:busy") as acquired:  # "the first request" is running
        assert acquired
        assert_error(_post(pclient, headers, "busy"), 409, "IDEMPOTENCY_IN_PROGRESS")
    assert _count(SampleOrder) == 0
    assert _post(pclient, headers, "busy").status_code == 201


def test_key_committed_without_its_response_is_never_acted_on_again(pclient, make):
    """A route that commits itself and whose process died before the response was stored
    leaves a key without a response: the order exists, so a retry must not act again."""
    user = make.user()
    db.session.add(IdempotencyKey(user_id=user.id, key="orphan", request_hash="0" * 64))
    db.session.commit()
    assert_error(_post(pclient, make.headers(user), "orphan"), 409, "IDEMPOTENCY_IN_PROGRESS")
    assert _count(SampleOrder) == 0


def _race(client, headers, key, n=6, body=None):
    barrier = threading.Barrier(n)

    def send(_):
        own = client.application.test_client()
        barrier.wait(timeout=30)
        return _post(own, headers, key, body=body or {**BODY, "sleep": 0.3})

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(send, range(n)))


def _assert_one_order(answers, orders=1):
    created = [a for a in answers if a.status_code == 201]
    statuses = [a.status_code for a in answers]
    assert created and 409 in statuses and set(statuses) <= {201, 409}, statuses  # they did overlap
    assert len({a.get_data() for a in created}) == 1  # every 2xx is the same body
    for busy in (a for a in answers if a.status_code == 409):
        assert busy.get_json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert _count(SampleOrder) == _count(IdempotencyKey) == orders


def test_concurrent_duplicates_in_threads(pclient, alice):
    _assert_one_order(_race(pclient, alice, "dup"))


def test_redis_down_still_prevents_duplicates(server_urls, sample_table, make):
    down = make_test_app(server_urls, REDIS_URL="redis://127.0.0.1:1/0")
    register(down)
    client, headers = down.test_client(), make.headers(make.user())
    first = _post(client, headers, "no-redis")
    again = _post(client, headers, "no-redis")
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert_error(_post(client, headers, "no-redis", body={**BODY, "qty": 2}), 422, "IDEMPOTENCY_KEY_REUSED")
    _assert_one_order(_race(client, headers, "no-redis-2"), orders=2)  # the first order and one more


def test_concurrent_duplicates_against_live_server(live, make):
    """Eight copies of one request at once, served by three gunicorn worker processes."""
    token = make.token(make.user())
    barrier = threading.Barrier(8)

    def send(_):
        barrier.wait(timeout=30)
        return live.post("/_sample/orders", {**BODY, "sleep": 0.5}, token, headers={"Idempotency-Key": "live-1"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    statuses = [a.status_code for a in answers]
    assert 201 in statuses and 409 in statuses and set(statuses) <= {201, 409}, [a.text for a in answers]
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    assert all(a.json()["code"] == "IDEMPOTENCY_IN_PROGRESS" for a in answers if a.status_code == 409)
    assert len(live.worker_pids("/api/v1/_sample/orders")) >= 2
    assert _count(SampleOrder) == 1 and _count(IdempotencyKey) == 1
    replay = live.post("/_sample/orders", {**BODY, "sleep": 0.5}, token, headers={"Idempotency-Key": "live-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == next(a.content for a in answers if a.status_code == 201)


def test_openapi_documents_the_header(pclient):
    post = pclient.get("/api/openapi.json").get_json()["paths"]["/api/v1/_sample/orders"]["post"]
    header = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is False
    assert {"409", "422", "201"} <= set(post["responses"]) and "requestBody" in post


# --- the purge sweep ---------------------------------------------------------------------

def _keys(user, ages_hours: list[float]) -> None:
    now = utcnow()
    for n, age in enumerate(ages_hours):
        db.session.add(IdempotencyKey(user_id=user.id, key=f"k{n}", request_hash="0" * 64, response_status=201,
                                      created_at=now - timedelta(hours=age)))
    db.session.commit()


def test_purge_expired_keys_is_idempotent(app, make):
    _keys(make.user(), [73, 100, 71, 1])
    assert purge_expired_keys() == 2
    assert purge_expired_keys() == 0
    assert sorted(k.key for k in db.session.execute(select(IdempotencyKey)).scalars()) == ["k2", "k3"]


def test_sweep_skips_while_another_run_holds_it(app, make):
    _keys(make.user(), [80])
    with try_advisory_lock("sweep:idempotency_keys_purge") as acquired:
        assert acquired and run_sweep("idempotency_keys_purge") == SKIPPED
    assert _count(IdempotencyKey) == 1
    assert run_sweep("idempotency_keys_purge") == 1


def test_two_processes_run_the_sweep_once(app, make):
    _keys(make.user(), [80] * 5 + [1])
    outcomes = run_at_once(_workers.sweep, [("idempotency_keys_purge",)] * 2)
    results = sorted(result for _, result in outcomes)
    assert results in ([SKIPPED, 5], [0, 5]), outcomes
    assert _count(IdempotencyKey) == 1


def test_cli_sweep_twice_at_once_changes_once(app, make):
    _keys(make.user(), [80] * 3)
    env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
           "REDIS_URL": os.environ["TEST_REDIS_URL"]}
    command = [sys.executable, "-m", "flask", "--app", "app", "sweep", "idempotency_keys_purge"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    lines = sorted(out.strip() for out, _ in outputs)
    assert lines[1] == "idempotency_keys_purge: 3 changed", outputs
    assert lines[0] in ("idempotency_keys_purge: 0 changed", "idempotency_keys_purge: skipped (running elsewhere)")
    assert _count(IdempotencyKey) == 0
