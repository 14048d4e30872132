"""Run side effects (cache invalidation, job enqueueing) only once the transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)
_KEY = "after_commit_callbacks"


def after_commit(session: Session | scoped_session, fn: Callable[[], None]) -> None:
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so a rollback() before any statement still drops the callback
    session.info.setdefault(_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for fn in callbacks:
        try:
            fn()
        except Exception:  # a side effect must never undo a committed transaction
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    # Every rollback() call, even with no transaction begun; a savepoint's rollback leaves
    # the outer transaction (and its callbacks) in place.
    if not session.in_transaction():
        session.info.pop(_KEY, None)
