"""Periodic, idempotent sweeps over PostgreSQL state: every deadline in the system is
enforced by one of these (auto-release, no-shows, expiry, timers, notification retries).

SWEEPS below is the one place they are registered: name → (function path, interval in
seconds, description). A sweep function takes no arguments, does its work with
conditional updates (so running it twice changes nothing the second time), commits, and
returns how many things it changed.

Run them:
- the scheduler (`flask --app app scheduler`, RQ's CronScheduler) queues each sweep at its
  interval; a worker (`flask --app app worker`) runs them;
- by hand: `flask --app app sweep NAME` or `flask --app app sweep --all`.
Two schedulers, or a sweep started twice at once, do no harm: a sweep runs under a
PostgreSQL advisory lock (the second one skips), and its updates are conditional anyway.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.jobs import job
from app.locks import try_advisory_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    name: str
    path: str
    every: int
    description: str

    def function(self) -> Callable[[], int]:
        module, _, attr = self.path.partition(":")
        return getattr(importlib.import_module(module), attr)


SWEEPS: dict[str, Sweep] = {s.name: s for s in (
    Sweep("idempotency_keys_purge", "app.idempotency:purge_expired_keys", 3600,
          "删除过期的幂等键 (delete idempotency keys past their retention)"),
    Sweep("notifications_retry", "app.notify:retry_due", 60,
          "重发到期的订阅消息 (send queued and failed-with-back-off subscribe messages)"),
    Sweep("attachments_purge", "blueprints.attachments.service:purge_unbound", 3600,
          "删除超时未关联订单的上传照片 (delete uploads never bound to an order)"),
    Sweep("canteen_no_shows", "blueprints.canteen.booking:mark_no_shows", 300,
          "把服务时段结束仍未取餐的预订标记为未取餐，并按规则警告或暂停报餐 (no-shows and their penalties)"),
    Sweep("rooms_deadlines", "blueprints.rooms.loop:run_deadlines", 60,
          "会议室到期处理：审批超时、未签到自动释放并通知候补、会议结束、候补通知过期 "
          "(lapse, release no-shows, close ended meetings, expire waitlist offers)"),
    Sweep("rooms_reminders", "blueprints.rooms.loop:send_reminders", 60,
          "会前提醒组织人和参会人 (remind organisers and attendees before meetings)"),
    Sweep("visitors_gate", "blueprints.visitors.gate:gate_sweep", 60,
          "访客到期处理：来访时段结束仍未入场的预约过期，超时仍在访的提醒被访人和门岗 "
          "(expire missed visits, flag overstays once)"),
    Sweep("parking_draws", "blueprints.parking.reservations:run_due_draws", 300,
          "到点为次日的预约车位抽签 (run tomorrow's parking draws once their time has come)"),
    Sweep("parking_no_shows", "blueprints.parking.reservations:mark_no_shows", 300,
          "预约开始加宽限仍未入场的标记爽约，车位给候补 (parking no-shows; the space goes to the waitlist)"),
    Sweep("parking_reconcile", "blueprints.parking.lots:reconcile", 86400,
          "按出入记录核对各停车场在场车辆数 (reconcile occupancy from gate events, nightly)"),
    Sweep("parking_nonces_purge", "blueprints.parking.rules:purge_nonces", 3600,
          "删除过期的道闸请求随机数 (delete gate nonces past the timestamp window)"),
    Sweep("points_expire", "blueprints.points.service:expire_due", 3600,
          "过期到期的积分 (expire points past their validity)"),
)}

SKIPPED = -1


@job
def run_sweep(name: str) -> int:
    """Run one sweep unless another run of it is in progress (then SKIPPED)."""
    sweep = SWEEPS[name]
    with try_advisory_lock(f"sweep:{name}") as acquired:
        if not acquired:
            log.info("sweep %s already running elsewhere; skipped", name)
            return SKIPPED
        changed = sweep.function()()
        log.info("sweep %s changed %s", name, changed)
        return changed


def build_scheduler(connection):
    """RQ's CronScheduler with every sweep registered at its interval."""
    from rq.cron import CronScheduler

    from app.jobs import QUEUE_NAME

    scheduler = CronScheduler(connection=connection)
    for sweep in SWEEPS.values():
        scheduler.register(run_sweep, QUEUE_NAME, args=(sweep.name,), interval=sweep.every,
                           job_timeout=600, name=sweep.name)
    return scheduler
