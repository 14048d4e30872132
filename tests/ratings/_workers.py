"""A rating submitted from a separate process (tests/support/procs.py), like another gunicorn
worker or another host."""

from __future__ import annotations

from tests.support import procs


def submit(token: str, body: dict, barrier, results) -> None:
    """Wait for the others, POST /api/v1/ratings once, report (status, body)."""
    try:
        import tests.platform.orders  # noqa: F401  (registers the SAMPLE order type in this process)

        app = procs.app_from_env(WTF_CSRF_ENABLED=False)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # warm up connections
        barrier.wait(timeout=60)
        resp = client.post("/api/v1/ratings", json=body, headers=headers)
        results.put((resp.status_code, resp.get_json()))
    except Exception as exc:  # report, never leave the parent waiting
        results.put((0, {"error": repr(exc)}))
