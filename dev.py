#!/usr/bin/env python3
"""The two set-up commands (README):

    python3 dev.py run     install, start embedded servers where no URLs are given,
                           migrate, load demo data, serve the API and admin panel
    python3 dev.py test    install, then ruff and the whole test suite

Only Python 3.11+ is needed: the first call makes .venv and installs requirements-dev.txt
into it (again whenever a requirements file changes), then reruns itself inside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"


def _requirements_digest() -> str:
    h = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    marker = VENV / ".requirements-digest"
    digest = _requirements_digest()
    if not PY.exists():
        print("creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not marker.exists() or marker.read_text() != digest:
        print("installing requirements ...", flush=True)
        subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(PY), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-dev.txt")],
                       check=True)
        marker.write_text(digest)
    os.execv(str(PY), [str(PY), str(Path(__file__).resolve()), *sys.argv[1:]])


def run(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    from app import devservers, migrate

    valkey = None
    if not os.environ.get("DATABASE_URL"):
        server = devservers.start_postgres("dev")
        os.environ["DATABASE_URL"] = devservers.ensure_database(server, "jiguan")
        print("embedded PostgreSQL under var/dev-pg", flush=True)
    if not os.environ.get("REDIS_URL"):
        valkey = devservers.start_valkey("dev")
        os.environ["REDIS_URL"] = valkey.connection_url
        print(f"embedded Valkey at {valkey.connection_url}", flush=True)
    os.environ.setdefault("APP_ENV", "development")
    standin = None
    if os.environ.get("WECHAT") == "standin" and not os.environ.get("WECHAT_APPID"):
        from miniapp_api.standin import StandinServer

        standin = StandinServer().start()
        os.environ.update(WECHAT_APPID="wx-standin", WECHAT_SECRET="standin-secret",  # noqa: S106
                          WECHAT_API_BASE=standin.url)
        print(f"local WeChat stand-in at {standin.url} (development login is off)", flush=True)
    migrate.upgrade(os.environ["DATABASE_URL"])

    from app import create_app
    from app.demo import DEMO_ADMIN, DEMO_PASSWORD, seed_demo

    app = create_app()
    with app.app_context():
        seed_demo()
    base = f"http://127.0.0.1:{port}"
    if standin is None:
        login_hint = (f"""without WeChat (development only):
      curl -X POST {base}/api/v1/auth/dev-login -H 'Content-Type: application/json' -d '{{"employee_no": "E1001"}}'""")
    else:
        login_hint = (f"""through the stand-in (any code; bind E1001 张伟 13800001001):
      curl -X POST {base}/api/v1/wx/login -H 'Content-Type: application/json' -d '{{"code": "demo-1"}}'""")
    print(f"""
机关后勤服务平台 is running.
  API docs (Swagger UI): {base}/api/docs      OpenAPI: {base}/api/openapi.json
  Health:                {base}/healthz
  Admin panel:           {base}/admin/    sign in: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}
      contractor consoles: C2001 (食堂) or C3001 (物业), auditor A0002, password {DEMO_PASSWORD}
  Mini-program login: {login_hint}
  Background: an RQ worker and the sweep scheduler run beside the server.
Press Ctrl+C to stop.
""", flush=True)
    # The background worker and the sweep scheduler, as in production (README, "Jobs and sweeps").
    background = [subprocess.Popen([str(PY), "-m", "flask", "--app", "app", command], cwd=ROOT)
                  for command in ("worker", "scheduler")]
    try:
        app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
    finally:
        for process in background:
            process.terminate()
        for process in background:
            process.wait(timeout=10)
        if valkey is not None:
            valkey.stop()
        if standin is not None:
            standin.stop()


def test(args: list[str]) -> int:
    ruff = subprocess.run([str(PY), "-m", "ruff", "check", "."], cwd=ROOT)
    if ruff.returncode:
        return ruff.returncode
    return subprocess.run([str(PY), "-m", "pytest", *args], cwd=ROOT).returncode


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        sys.exit(__doc__)
    ensure_venv()
    if sys.argv[1] == "run":
        run(int(os.environ.get("PORT", "5000")))
    else:
        sys.exit(test(sys.argv[2:]))


if __name__ == "__main__":
    main()
