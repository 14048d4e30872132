"""Work run in separate processes (tests/support/procs.py run_at_once) for the rooms tests."""

from __future__ import annotations


def post_worker(token: str, path: str, body: dict, barrier, results) -> None:
    """Build the app as another worker process would, wait for the others, POST once through
    the HTTP layer; report (status, code or id)."""
    try:
        from tests.support.procs import app_from_env

        app = app_from_env()
        client = app.test_client()
        client.get("/ping")  # warm up: connections made before the race
        barrier.wait(timeout=60)
        resp = client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"})
        payload = resp.get_json() or {}
        results.put((resp.status_code, payload.get("code") or payload.get("id")))
    except Exception as exc:  # report, never leave the parent waiting
        results.put(("crash", repr(exc)))
