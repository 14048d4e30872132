"""Binds made from separate processes (tests/support/procs.py), like two gunicorn workers
submitting two orders with the same photo at the same moment."""

from __future__ import annotations

import time

from tests.support import procs


def bind(attachment_id: int, user_id: int, order_id: int, barrier, results) -> None:
    """Wait for the others, bind the upload to `order_id`, hold the transaction a moment
    (so a competitor meets the row lock), commit; report (outcome, order_id)."""
    try:
        import tests.platform.orders  # noqa: F401  (registers the "sample" order type here too)
        from app.auth import Principal
        from app.errors import AppError
        from app.extensions import db
        from blueprints.attachments import service
        from models import User

        app = procs.app_from_env()
        with app.app_context():
            principal = Principal.for_user(db.session.get(User, user_id))
            db.session.commit()
            barrier.wait(timeout=60)
            try:
                service.bind([attachment_id], principal, "sample", order_id, "checkin")
                time.sleep(0.3)
                db.session.commit()
                results.put(("bound", order_id))
            except AppError as exc:
                db.session.rollback()
                results.put((exc.code, order_id))
    except Exception as exc:  # report, never leave the parent waiting
        results.put(("error", repr(exc)))
