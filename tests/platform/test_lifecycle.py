"""Order lifecycles (app/lifecycle.py) on the test-only sample order: allowed and illegal
transitions, who may make each, the timeline, and races between threads and processes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from app.lifecycle import SYSTEM, Lifecycle, Transition, order_transitioned
from app.timeutil import utcnow
from models.platform import OrderTransition
from tests.identity.helpers import assert_error
from tests.platform import _workers
from tests.platform.conftest import new_order, principal
from tests.platform.orders import SAMPLE, SampleOrder
from tests.support.procs import run_at_once

API = "/api/v1/_sample"


@pytest.fixture
def people(make):
    company = make.company("security")
    return {
        "company": company,
        "owner": make.user(name="王芳"),
        "other": make.user(name="李雷"),
        "admin": make.user("admin", name="管理员"),
        "guard": make.user("guard", company=company, name="保安甲"),
        "guard2": make.user("guard", company=company, name="保安乙"),
        "foreign_guard": make.user("guard", company=make.company("security"), name="外单位保安"),
    }


def _state(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(SampleOrder, order_id).status


def _transitions(order_id: int, name: str | None = None) -> int:
    stmt = select(func.count()).select_from(OrderTransition).where(
        OrderTransition.order_type == "sample", OrderTransition.order_id == order_id)
    if name:
        stmt = stmt.where(OrderTransition.transition == name)
    return db.session.execute(stmt).scalar_one()


def test_definitions_are_checked_at_import():
    with pytest.raises(ValueError, match="unknown states"):
        Lifecycle("bad_states", SampleOrder, {"a": "甲"}, [Transition("go", ("a",), "b", ("admin",), "前进")])
    with pytest.raises(ValueError, match="taken"):
        Lifecycle("sample", SampleOrder, {"a": "甲"}, [])
    with pytest.raises(ValueError, match="tuples"):
        Lifecycle("bad_roles", SampleOrder, {"a": "甲"}, [Transition("go", ("a",), "a", "admin", "前进")])
    with pytest.raises(ValueError, match="no column"):
        Lifecycle("bad_owner", SampleOrder, {"a": "甲"}, [], owner_column="holder_id")
    with pytest.raises(ValueError, match="repeat"):
        Lifecycle("bad_twice", SampleOrder, {"a": "甲"}, [Transition("go", ("a",), "a", ("admin",), "走")] * 2)
    with pytest.raises(ValueError, match="reserved"):
        Lifecycle("bad_name", SampleOrder, {"a": "甲"}, [Transition("create", ("a",), "a", ("admin",), "建")])
    from app.qrpass import register_purpose

    with pytest.raises(ValueError, match="not a transition from that state"):
        register_purpose("bad_step", SAMPLE, {"inside": "check_in"}, lambda s, o: True, "错")
    with pytest.raises(ValueError):
        register_purpose("sample", SAMPLE, {"booked": "check_in"}, lambda s, o: True, "重名")


def test_transition_with_values_note_and_timeline(people):
    owner, guard = people["owner"], people["guard"]
    order = new_order(owner, people["company"])
    seen = []
    receiver = lambda sender, **kw: seen.append((sender.order_type, kw["transition"].name, kw["from_state"]))  # noqa: E731
    order_transitioned.connect(receiver)
    try:
        entered = utcnow()
        moved = SAMPLE.transition(order.id, "check_in", principal(guard), note="证件已核对",
                                  values={"entered_at": entered})
        db.session.commit()
    finally:
        order_transitioned.disconnect(receiver)
    assert seen == [("sample", "check_in", "booked")]
    assert moved.status == "inside" and moved.entered_at == entered
    SAMPLE.transition(order, "check_out", principal(guard))
    db.session.commit()
    assert _state(order.id) == "done"

    timeline = SAMPLE.timeline(order.id)
    assert [(r["transition"], r["from_state"], r["to_state"]) for r in timeline] == [
        ("create", None, "booked"), ("check_in", "booked", "inside"), ("check_out", "inside", "done")]
    assert [(r["transition_label"], r["from_label"], r["to_label"]) for r in timeline] == [
        ("创建", None, "已预订"), ("入场核验", "已预订", "在场"), ("离场核验", "在场", "已离场")]
    assert [(r["actor_id"], r["actor_name"], r["note"]) for r in timeline] == [
        (owner.id, "王芳", None), (guard.id, "保安甲", "证件已核对"), (guard.id, "保安甲", None)]
    assert all(r["at"].tzinfo is not None for r in timeline)


def test_illegal_transition_is_409_naming_the_state(people, pclient, make):
    order = new_order(people["owner"], people["company"])
    SAMPLE.transition(order.id, "check_in", principal(people["guard"]))
    db.session.commit()
    with pytest.raises(AppError) as exc:
        SAMPLE.transition(order.id, "cancel", principal(people["owner"]))
    assert exc.value.code == "INVALID_TRANSITION" and exc.value.status == 409
    assert exc.value.message == "当前状态为「在场」，不能取消"
    assert exc.value.details == {"current": "inside", "current_label": "在场", "transition": "cancel",
                                 "allowed_from": ["booked"]}
    db.session.rollback()
    # The same over HTTP, in the one error shape; nothing changed.
    resp = pclient.post(f"{API}/orders/{order.id}/cancel", json={}, headers=make.headers(people["owner"]))
    body = assert_error(resp, 409, "INVALID_TRANSITION")
    assert body["message"] == "当前状态为「在场」，不能取消" and body["details"]["current_label"] == "在场"
    assert _state(order.id) == "inside" and _transitions(order.id) == 2


def test_roles_owner_admin_system_and_authorize_hook(people):
    owner, other, admin = people["owner"], people["other"], people["admin"]
    order = new_order(owner, people["company"])

    def refused(name, actor):
        with pytest.raises(AppError) as exc:
            SAMPLE.transition(order.id, name, actor)
        db.session.rollback()
        assert exc.value.code == "FORBIDDEN" and exc.value.status == 403, exc.value.code
        assert _state(order.id) == "booked"

    refused("cancel", principal(other))                    # not the owner, not an admin
    refused("check_in", principal(owner))                  # no guard role
    refused("check_in", principal(people["foreign_guard"]))  # a guard, but authorize(): another company
    refused("mark_no_show", principal(admin))              # only the system
    refused("cancel", SYSTEM)                              # the system is neither owner nor admin
    assert SAMPLE.available(principal(owner), order) == ["cancel"]
    assert SAMPLE.available(principal(people["guard"]), order) == ["check_in"]
    assert SAMPLE.available(SYSTEM, order) == ["mark_no_show"]
    assert SAMPLE.available(principal(people["foreign_guard"]), order) == []

    # An administrator may cancel someone else's order; the owner her own; the system marks no-shows.
    SAMPLE.transition(order.id, "cancel", principal(admin), note="代为取消")
    second, third = new_order(owner), new_order(owner)
    SAMPLE.transition(second.id, "cancel", principal(owner))
    SAMPLE.transition(third, "mark_no_show", SYSTEM)
    db.session.commit()
    assert (_state(order.id), _state(second.id), _state(third.id)) == ("cancelled", "cancelled", "no_show")
    last = SAMPLE.timeline(third.id)[-1]
    assert (last["actor_id"], last["actor_name"], last["to_label"]) == (None, "系统", "未到场")
    assert SAMPLE.timeline(order.id)[-1]["actor_name"] == "管理员"


def test_unknown_order_is_404(people):
    with pytest.raises(AppError) as exc:
        SAMPLE.transition(987654, "cancel", principal(people["admin"]))
    assert exc.value.code == "NOT_FOUND"


def test_only_from_narrows_the_sources(people):
    order = new_order(people["owner"], people["company"])
    with pytest.raises(AppError) as exc:
        SAMPLE.transition(order.id, "check_in", principal(people["guard"]), only_from=("inside",))
    assert exc.value.code == "INVALID_TRANSITION" and exc.value.details["allowed_from"] == []
    db.session.rollback()
    assert _state(order.id) == "booked"


def test_http_timeline_and_cancel(people, pclient, make):
    owner = make.headers(people["owner"])
    created = pclient.post(f"{API}/orders", json={"item": "套餐B", "qty": 2}, headers=owner)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert [r["to_label"] for r in order["timeline"]] == ["已预订"]
    resp = pclient.post(f"{API}/orders/{order['id']}/cancel", json={"note": "临时有事"}, headers=owner)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    rows = pclient.get(f"{API}/orders/{order['id']}/timeline", headers=owner).get_json()
    assert [(r["transition_label"], r["to_label"], r["actor_name"], r["note"]) for r in rows] == [
        ("创建", "已预订", "王芳", None), ("取消", "已取消", "王芳", "临时有事")]
    assert rows[1]["at"].endswith("+08:00")
    # Bad input is a 4xx in the error shape.
    assert_error(pclient.post(f"{API}/orders/{order['id']}/cancel", json={"note": "x" * 201}, headers=owner),
                 422, "VALIDATION_ERROR")
    assert_error(pclient.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=make.headers(people["other"])),
                 404, "NOT_FOUND")


def test_threads_race_one_transition(people, papp):
    order_id = new_order(people["owner"], people["company"]).id
    guards = [principal(people["guard"]), principal(people["guard2"])]
    barrier = threading.Barrier(8)

    def attempt(n):
        with papp.app_context():
            barrier.wait(timeout=30)
            try:
                SAMPLE.transition(order_id, "check_in", guards[n % 2])
                db.session.commit()
                return "ok"
            except AppError as exc:
                db.session.rollback()
                return (exc.code, exc.details["current"])
            finally:
                db.session.remove()

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 1, outcomes
    assert sorted(o for o in outcomes if o != "ok") == [("INVALID_TRANSITION", "inside")] * 7
    assert _state(order_id) == "inside" and _transitions(order_id, "check_in") == 1


def test_processes_race_one_transition(people):
    order = new_order(people["owner"], people["company"])
    guard = principal(people["guard"]).to_json()
    outcomes = run_at_once(_workers.transition, [(order.id, "check_in", guard)] * 4)
    assert sorted(code for _, code in outcomes) == ["INVALID_TRANSITION"] * 3 + ["ok"], outcomes
    assert _state(order.id) == "inside" and _transitions(order.id, "check_in") == 1


def test_processes_race_conflicting_transitions(people):
    """The owner cancels while a guard checks in and the system marks a no-show: one wins."""
    order = new_order(people["owner"], people["company"])
    calls = [(order.id, "cancel", principal(people["owner"]).to_json()),
             (order.id, "check_in", principal(people["guard"]).to_json()),
             (order.id, "mark_no_show", SYSTEM.to_json())] * 2
    outcomes = run_at_once(_workers.transition, calls)
    winners = [name for name, code in outcomes if code == "ok"]
    assert len(winners) == 1, outcomes
    assert all(code == "INVALID_TRANSITION" for name, code in outcomes if code != "ok")
    target = SAMPLE.transitions[winners[0]].target
    assert _state(order.id) == target
    assert [r["to_state"] for r in SAMPLE.timeline(order.id)] == ["booked", target]
