"""Signed gate requests for the parking tests (in the test process and in worker processes)."""

from __future__ import annotations

import json
import secrets
import time


def signed_headers(key_id: str, secret: str, method: str, path: str, body: bytes, *, timestamp: int | None = None,
                   nonce: str | None = None) -> dict:
    from blueprints.parking.rules import sign

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(16)
    return {"X-Gate-Key": key_id, "X-Gate-Timestamp": stamp, "X-Gate-Nonce": nonce,
            "X-Gate-Signature": sign(secret, method, path, stamp, nonce, body), "Content-Type": "application/json"}


def event_worker(key_id: str, secret: str, event: dict, barrier, results) -> None:
    """Another process posting one gate event once the others are ready; reports
    (status, replayed or code)."""
    try:
        from tests.support.procs import app_from_env

        client = app_from_env().test_client()
        client.get("/ping")
        body = json.dumps(event).encode()
        headers = signed_headers(key_id, secret, "POST", "/api/v1/parking/gate/events", body)
        barrier.wait(timeout=60)
        resp = client.post("/api/v1/parking/gate/events", data=body, headers=headers)
        payload = resp.get_json() or {}
        results.put((resp.status_code, payload.get("replayed", payload.get("code"))))
    except Exception as exc:  # report, never leave the parent waiting
        results.put(("crash", repr(exc)))
