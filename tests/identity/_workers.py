"""Requests sent from separate processes (see tests/support/procs.py), like other gunicorn
workers."""

from __future__ import annotations

import io

from tests.support import procs


def call(token: str, method: str, url: str, kwargs: dict, barrier, results) -> None:
    """Wait for the others, send one request, report (token, status, body)."""
    try:
        app = procs.app_from_env(WTF_CSRF_ENABLED=False)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # warm up connections
        if "file" in kwargs:  # multipart upload: (bytes, filename)
            data, filename = kwargs.pop("file")
            kwargs = {**kwargs, "data": {"file": (io.BytesIO(data), filename)}, "content_type": "multipart/form-data"}
        barrier.wait(timeout=60)
        resp = client.open(url, method=method, headers=headers, **kwargs)
        results.put((token, resp.status_code, resp.get_json()))
    except Exception as exc:  # report, never leave the parent waiting
        results.put((token, 0, {"error": repr(exc)}))


def run_at_once(requests: list[tuple[str, str, str, dict]], timeout: float = 120) -> list[tuple]:
    """Send (token, method, url, kwargs) requests from as many processes at the same moment;
    return their (token, status, body) in completion order."""
    outcomes = procs.run_at_once(call, requests, timeout)
    assert all(status for _, status, _ in outcomes), outcomes
    return outcomes
