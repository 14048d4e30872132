"""Run in separate processes (multiprocessing, 'spawn'): each has its own app and database
connections, like another gunicorn worker. Settings come from the environment the test
session exported (TEST_DATABASE_URL, TEST_REDIS_URL)."""

from __future__ import annotations

import io
import os


def call(token: str, method: str, url: str, kwargs: dict, barrier, results) -> None:
    """Wait for the others, send one request, report (token, status, body)."""
    from app import create_app

    try:
        app = create_app({"APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
                          "REDIS_URL": os.environ["TEST_REDIS_URL"], "WTF_CSRF_ENABLED": False})
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
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(requests)), ctx.Queue()
    procs = [ctx.Process(target=call, args=(*request, barrier, results)) for request in requests]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    assert all(status for _, status, _ in outcomes), outcomes
    return outcomes
