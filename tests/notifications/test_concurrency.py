"""Several senders at once: threads, other processes, two sweeps, the sweep CLI and a real
RQ worker. Whatever runs concurrently, each message reaches WeChat exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db
from app.jobs import get_queue
from app.notify import notify, retry_due, send_outbox
from app.sweeps import SKIPPED, run_sweep
from app.timeutil import utcnow
from tests.notifications.conftest import FLASK, ROOT, make_due, outbox, wechat_env

SENDER = """
import json, sys
from app.notify import send_outbox
ids = [int(a) for a in sys.argv[1:]]
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps([send_outbox(i) for i in ids]), flush=True)
"""


def _notices(wx_user, count: int) -> list[int]:
    ids = []
    for n in range(count):
        user = wx_user(consents={"generic_notice": 1})
        ids.append(notify(user.id, "generic_notice", {"title": f"通知{n}", "content": f"内容{n}"}).outbox.id)
    db.session.commit()
    return ids


def _one_delivery_each(standin, ids: list[int]) -> None:
    rows = [outbox(i) for i in ids]
    assert [r.status for r in rows] == ["sent"] * len(ids)
    assert [r.attempts for r in rows] == [1] * len(ids)
    delivered = sorted(d["touser"] for d in standin.delivered())
    assert delivered == sorted(r.openid for r in rows)
    assert len(standin.calls()) == len(ids)


def _in_context(nx, fn, *args):
    with nx.app_context():
        return fn(*args)


def test_threads_sending_one_row_make_one_call(nx, wx_user, standin):
    [outbox_id] = _notices(wx_user, 1)
    standin.fault(delay=0.3, times=1)  # a slow WeChat keeps the first sender busy
    barrier = threading.Barrier(6)

    def attempt():
        barrier.wait()
        return _in_context(nx, send_outbox, outbox_id)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: attempt(), range(6)))
    assert sorted(results, key=str) == [None] * 5 + ["sent"]
    _one_delivery_each(standin, [outbox_id])


def test_other_processes_sending_the_same_rows_make_one_call_each(nx, wx_user, standin, templates_file):
    ids = _notices(wx_user, 4)
    standin.fault(delay=0.2, times=2)
    env = wechat_env(standin.url, templates_file)
    procs = [subprocess.Popen([sys.executable, "-c", SENDER, *map(str, ids)], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        here = [send_outbox(i) for i in ids]  # and this process as well
        outputs = [proc.communicate(timeout=30) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    there = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    for n in range(len(ids)):
        assert sorted([here[n], there[0][n], there[1][n]], key=str) == [None, None, "sent"]
    _one_delivery_each(standin, ids)


def test_two_sweeps_at_once_send_each_message_once(nx, wx_user, standin):
    ids = _notices(wx_user, 4)
    make_due(*ids)
    standin.fault(delay=0.2, times=4)
    barrier = threading.Barrier(4)

    def sweep(kind: str):
        barrier.wait()
        # Two through the registry (one advisory lock) and two calling the function directly.
        return _in_context(nx, run_sweep, "notifications_retry") if kind == "locked" else _in_context(
            nx, retry_due)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(sweep, ["locked", "locked", "direct", "direct"]))
    changed = [r for r in results if r != SKIPPED]
    assert sum(changed) == len(ids)
    _one_delivery_each(standin, ids)
    make_due(*ids)
    assert retry_due() == 0


def test_sweep_cli(nx, wx_user, standin, templates_file):
    ids = _notices(wx_user, 2)
    env = wechat_env(standin.url, templates_file)
    first = subprocess.run([*FLASK, "sweep", "notifications_retry"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "notifications_retry: 0 changed" in first.stdout  # still within the grace period
    make_due(*ids)
    second = subprocess.run([*FLASK, "sweep", "notifications_retry"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "notifications_retry: 2 changed" in second.stdout
    _one_delivery_each(standin, ids)


def test_real_worker_sends_queued_notices(nx, wx_user, standin, templates_file):
    queue = get_queue()
    queue.empty()
    users = [wx_user(consents={"order_status_changed": 1}) for _ in range(3)]
    ids = [notify(u.id, "order_status_changed", {"service": "报修", "order_no": f"BX{u.id}", "status": "已完成",
                                                 "remark": "", "time": utcnow()}).outbox.id for u in users]
    no_wechat = notify(users[0].id, "welcome", {"name": "张伟"})  # in-app only: no job
    db.session.commit()
    assert no_wechat.outbox is None and queue.count == 3
    worker = subprocess.run([*FLASK, "worker", "--burst"], cwd=ROOT, env=wechat_env(standin.url, templates_file),
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    assert queue.count == 0 and len(queue.finished_job_registry) == 3
    assert len(queue.failed_job_registry) == 0
    _one_delivery_each(standin, ids)
    assert sorted(d["data"]["character_string1"]["value"] for d in standin.delivered()) == sorted(
        f"BX{u.id}" for u in users)
