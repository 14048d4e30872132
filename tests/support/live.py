"""The app as a real server: gunicorn with several worker processes in a subprocess, its
access log telling which worker answered what."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def server_env(**settings: str) -> dict:
    """Environment for a subprocess running the app on the test session's database and Redis
    (as exported by the `server_urls` fixture), never through a proxy to this host."""
    return {**os.environ, "APP_ENV": "test", "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
            "REDIS_URL": os.environ["TEST_REDIS_URL"], "NO_PROXY": "127.0.0.1,localhost", **settings}


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    """A running server: its base URL, an HTTP session that never goes through a proxy from
    the environment, and the access log."""

    def __init__(self, url: str, access_log: Path):
        self.url, self.access_log = url, access_log
        self.http = requests.Session()
        self.http.trust_env = False

    def worker_pids(self, path: str) -> set[str]:
        """Which gunicorn workers answered `path` (access log lines "pid method path status")."""
        lines = [line.split() for line in self.access_log.read_text().splitlines()]
        return {pid for pid, _method, url, _status in lines if url == path}


L = TypeVar("L", bound=Live)


@contextmanager
def run_gunicorn(app_spec: str, workers: int, env: dict, run_dir: Path, *,
                          live_class: type[L] = Live, ready_timeout: float = 30) -> Iterator[L]:
    """`gunicorn app_spec` with `workers` worker processes, started from the repository root
    with `env`, until /healthz answers 200; terminated on exit. Its output and access log go
    to run_dir."""
    access_log, output = run_dir / "access.log", run_dir / "gunicorn.log"
    port = free_port()
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             # --preload: the app is loaded once before the workers fork, so every worker is
             # ready when the first answers /healthz (a race meant to span processes otherwise
             # lands on the one worker that finished importing first, on a loaded machine).
             "--preload", "--graceful-timeout", "2", "--access-logfile", str(access_log),
             "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", app_spec],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        server = live_class(f"http://127.0.0.1:{port}", access_log)
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                pytest.fail("gunicorn exited:\n" + output.read_text(errors="replace"))
            try:
                if server.http.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # refused, or queued while the workers load the app
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not become healthy:\n" + output.read_text(errors="replace"))
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
