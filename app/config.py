"""Configuration profiles, read from environment variables.

`load_config(profile, overrides)` returns a plain dict for `app.config`. Profiles:
development (embedded servers, development login), test (fixed test keys) and
production (refuses to start without its secrets). See README, "Configuration".
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("development", "test", "production")

# Secrets production must be given; each one is named when missing.
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DATA_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "QR_SIGNING_KEYS",
)

# Fixed, public keys for development and tests only. Production refuses to start with them.
_INSECURE = {
    "SECRET_KEY": "insecure-development-secret-key-0000000000",
    "DATA_ENCRYPTION_KEYS": "dev1:ZGV2LWRhdGEtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
    "BLIND_INDEX_KEY": "insecure-development-blind-index-key",
    "QR_SIGNING_KEYS": "dev1:insecure-development-qr-signing-key",
}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what is missing."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    value = _env(name)
    return default if value is None else int(value)


def load_config(profile: str | None = None, overrides: dict | None = None) -> dict:
    profile = profile or _env("APP_ENV", "development")
    if profile not in PROFILES:
        raise ConfigError(f"APP_ENV must be one of {', '.join(PROFILES)}, not {profile!r}")
    production = profile == "production"

    cfg: dict = {
        "APP_ENV": profile,
        "TESTING": profile == "test",
        "DEBUG": False,
        # Database and Redis. Empty means "not configured": development and tests start
        # embedded servers before the app is created (see app/devservers.py).
        "DATABASE_URL": _env("DATABASE_URL"),
        "REDIS_URL": _env("REDIS_URL"),
        "DB_POOL_SIZE": _int("DB_POOL_SIZE", 5),
        "DB_MAX_OVERFLOW": _int("DB_MAX_OVERFLOW", 5),
        "DB_STATEMENT_TIMEOUT_MS": _int("DB_STATEMENT_TIMEOUT_MS", 15000),
        "REDIS_SOCKET_TIMEOUT": float(_env("REDIS_SOCKET_TIMEOUT", "0.5")),
        # Secrets.
        "SECRET_KEY": _env("SECRET_KEY"),
        "DATA_ENCRYPTION_KEYS": _env("DATA_ENCRYPTION_KEYS"),
        "BLIND_INDEX_KEY": _env("BLIND_INDEX_KEY"),
        # QR passes (app/qrpass.py): HMAC key ring "kid:secret[,kid:secret...]", first signs.
        "QR_SIGNING_KEYS": _env("QR_SIGNING_KEYS"),
        "QR_PASS_TTL_SECONDS": _int("QR_PASS_TTL_SECONDS", 60),
        "QR_PASS_SKEW_SECONDS": _int("QR_PASS_SKEW_SECONDS", 5),
        # Idempotency keys (app/idempotency.py) are kept this long, then purged by a sweep.
        "IDEMPOTENCY_RETENTION_HOURS": _int("IDEMPOTENCY_RETENTION_HOURS", 72),
        # Notifications (app/notify.py): WeChat subscribe messages through the outbox.
        "NOTIFICATION_TEMPLATES_FILE": _env("NOTIFICATION_TEMPLATES_FILE"),
        "NOTIFY_MINIPROGRAM_STATE": _env("NOTIFY_MINIPROGRAM_STATE", "formal"),  # developer | trial | formal
        "NOTIFY_LANG": _env("NOTIFY_LANG", "zh_CN"),
        "NOTIFY_MAX_ATTEMPTS": _int("NOTIFY_MAX_ATTEMPTS", 6),
        "NOTIFY_BACKOFF_SECONDS": _int("NOTIFY_BACKOFF_SECONDS", 60),
        "NOTIFY_BACKOFF_MAX_SECONDS": _int("NOTIFY_BACKOFF_MAX_SECONDS", 3600),
        "NOTIFY_QUEUED_GRACE_SECONDS": _int("NOTIFY_QUEUED_GRACE_SECONDS", 60),
        "NOTIFY_SENDING_STALE_SECONDS": _int("NOTIFY_SENDING_STALE_SECONDS", 600),
        "NOTIFY_SWEEP_BATCH": _int("NOTIFY_SWEEP_BATCH", 200),
        "NOTIFY_SWEEP_SECONDS": _int("NOTIFY_SWEEP_SECONDS", 240),
        # Attachments (blueprints/attachments): photos are re-encoded (EXIF stripped) and
        # stored under ATTACHMENT_DIR by content hash; unbound uploads are purged after
        # ATTACHMENT_UNBOUND_HOURS.
        "ATTACHMENT_DIR": _env("ATTACHMENT_DIR", str(ROOT / "var" / "attachments")),
        "ATTACHMENT_MAX_BYTES": _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        "ATTACHMENT_MAX_PIXELS": _int("ATTACHMENT_MAX_PIXELS", 40_000_000),
        "ATTACHMENT_THUMBNAIL_PX": _int("ATTACHMENT_THUMBNAIL_PX", 480),
        "ATTACHMENT_UNBOUND_HOURS": _int("ATTACHMENT_UNBOUND_HOURS", 24),
        "RATELIMIT_UPLOAD": _env("RATELIMIT_UPLOAD", "30 per minute;300 per day"),
        # Ratings (blueprints/ratings): how long after an order finishes it may be rated, and
        # how long a rating stays editable. RATING_TAGS overrides the tag lists per order type.
        "RATING_WINDOW_DAYS": _int("RATING_WINDOW_DAYS", 7),
        "RATING_EDIT_HOURS": _int("RATING_EDIT_HOURS", 12),
        "RATING_TAGS": {},
        # Points (blueprints/points): earned points expire this many months after the end of
        # the month they were earned in (0: never).
        "POINTS_EXPIRE_MONTHS": _int("POINTS_EXPIRE_MONTHS", 24),
        # Canteen (blueprints/canteen): no-show consequences within a rolling window of days
        # (a warning at WARN_AT no-shows, booking suspended for SUSPEND_DAYS at SUSPEND_AT),
        # the share of clean-plate check-ins sampled for review, and the weeks of history the
        # production forecast uses.
        "CANTEEN_NO_SHOW_WINDOW_DAYS": _int("CANTEEN_NO_SHOW_WINDOW_DAYS", 30),
        "CANTEEN_NO_SHOW_WARN_AT": _int("CANTEEN_NO_SHOW_WARN_AT", 2),
        "CANTEEN_NO_SHOW_SUSPEND_AT": _int("CANTEEN_NO_SHOW_SUSPEND_AT", 3),
        "CANTEEN_SUSPEND_DAYS": _int("CANTEEN_SUSPEND_DAYS", 7),
        "CANTEEN_CHECKIN_SAMPLE_RATE": float(_env("CANTEEN_CHECKIN_SAMPLE_RATE", "0.05")),
        "CANTEEN_FORECAST_WEEKS": _int("CANTEEN_FORECAST_WEEKS", 4),
        # Meeting rooms (blueprints/rooms): no-shows within a rolling window of days suspend
        # booking for ROOM_SUSPEND_DAYS at ROOM_NO_SHOW_LIMIT; reminders this many minutes
        # before the start; a waitlist offer stands this long; a recurring booking has at most
        # ROOM_SERIES_MAX occurrences; service tasks are due this long before the start.
        "ROOM_NO_SHOW_WINDOW_DAYS": _int("ROOM_NO_SHOW_WINDOW_DAYS", 30),
        "ROOM_NO_SHOW_LIMIT": _int("ROOM_NO_SHOW_LIMIT", 3),
        "ROOM_SUSPEND_DAYS": _int("ROOM_SUSPEND_DAYS", 14),
        "ROOM_REMINDER_MINUTES": _int("ROOM_REMINDER_MINUTES", 15),
        "ROOM_WAITLIST_OFFER_MINUTES": _int("ROOM_WAITLIST_OFFER_MINUTES", 30),
        "ROOM_SERIES_MAX": _int("ROOM_SERIES_MAX", 60),
        "ROOM_SERVICE_LEAD_MINUTES": _int("ROOM_SERVICE_LEAD_MINUTES", 30),
        # Visitors (blueprints/visitors): the privacy notice's current version (a visitor
        # consents to it before any ID number is stored); a pass is valid from this long
        # before a visit's window; a window is at most VISIT_MAX_HOURS long and starts at most
        # VISIT_ADVANCE_DAYS ahead; at most VISIT_MAX_COMPANIONS people come along and a
        # recurring application has at most VISIT_SERIES_MAX visits; an invitation link
        # lives VISIT_INVITATION_DAYS; personal data is anonymised VISIT_RETENTION_DAYS after
        # an application's last visit ends.
        "VISIT_NOTICE_VERSION": _env("VISIT_NOTICE_VERSION", "2026-01"),
        "VISIT_EARLY_MINUTES": _int("VISIT_EARLY_MINUTES", 30),
        "VISIT_MAX_HOURS": _int("VISIT_MAX_HOURS", 12),
        "VISIT_ADVANCE_DAYS": _int("VISIT_ADVANCE_DAYS", 30),
        "VISIT_MAX_COMPANIONS": _int("VISIT_MAX_COMPANIONS", 9),
        "VISIT_SERIES_MAX": _int("VISIT_SERIES_MAX", 12),
        "VISIT_INVITATION_DAYS": _int("VISIT_INVITATION_DAYS", 7),
        "VISIT_RETENTION_DAYS": _int("VISIT_RETENTION_DAYS", 180),
        # Parking (blueprints/parking): vehicles a person may register; a signed gate
        # request's timestamp may be this far from the server's clock (its nonce is
        # remembered twice as long).
        "PARKING_MAX_VEHICLES": _int("PARKING_MAX_VEHICLES", 3),
        # Reservations: at most this many days ahead; a draw weighs wins and no-shows of
        # the last PARKING_DRAW_LOOKBACK_DAYS.
        "PARKING_ADVANCE_DAYS": _int("PARKING_ADVANCE_DAYS", 7),
        "PARKING_DRAW_LOOKBACK_DAYS": _int("PARKING_DRAW_LOOKBACK_DAYS", 30),
        # A reservation opens the gate from this long before its start.
        "PARKING_GATE_EARLY_MINUTES": _int("PARKING_GATE_EARLY_MINUTES", 30),
        "PARKING_GATE_SKEW_SECONDS": _int("PARKING_GATE_SKEW_SECONDS", 300),
        # Working calendar (app/workcalendar.py): business hours in Asia/Shanghai.
        "WORK_HOURS": _env("WORK_HOURS", "09:00-12:00,13:30-17:30"),
        # Mini-program codes (miniapp_api/codes.py): the landing page that resolves scenes.
        "WXA_SCENE_PAGE": _env("WXA_SCENE_PAGE", "pages/scan/index"),
        "WXA_CODE_WIDTH": _int("WXA_CODE_WIDTH", 430),
        # Bearer tokens.
        "TOKEN_TTL": timedelta(hours=_int("TOKEN_TTL_HOURS", 24 * 7)),
        "TOKEN_CACHE_SECONDS": _int("TOKEN_CACHE_SECONDS", 300),
        # WeChat. No app id means WeChat is not configured: the development login exists
        # only then, and never in production.
        "WECHAT_APPID": _env("WECHAT_APPID"),
        "WECHAT_SECRET": _env("WECHAT_SECRET"),
        "WECHAT_API_BASE": _env("WECHAT_API_BASE", "https://api.weixin.qq.com/"),
        "WECHAT_PROXY": _env("WECHAT_PROXY"),
        "WECHAT_TIMEOUT": float(_env("WECHAT_TIMEOUT", "5")),
        "WECHAT_TOKEN_RETRIES": _int("WECHAT_TOKEN_RETRIES", 2),
        # Rate limits (Flask-Limiter syntax), keyed by user or openid, not by address.
        "RATELIMIT_DEFAULT": _env("RATELIMIT_DEFAULT", "300 per minute"),
        "RATELIMIT_LOGIN": _env("RATELIMIT_LOGIN", "10 per minute"),  # per openid
        "RATELIMIT_LOGIN_ADDR": _env("RATELIMIT_LOGIN_ADDR", "1200 per minute"),  # per address
        "RATELIMIT_BIND": _env("RATELIMIT_BIND", "5 per minute;20 per day"),
        # Visitor requests (the host looked up by name and phone), per user.
        "RATELIMIT_VISIT_APPLY": _env("RATELIMIT_VISIT_APPLY", "10 per minute;30 per day"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Proxies in front of the app (ProxyFix): how many hops to trust.
        "PROXY_HOPS": _int("PROXY_HOPS", 0),
        # Admin panel sign-in.
        "ADMIN_IDLE_TIMEOUT": timedelta(minutes=_int("ADMIN_IDLE_MINUTES", 30)),
        "ADMIN_MAX_FAILURES": 5,
        "ADMIN_LOCKOUT": timedelta(minutes=_int("ADMIN_LOCKOUT_MINUTES", 15)),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "jg_admin",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": None,
        "INVITE_TTL": timedelta(hours=_int("INVITE_TTL_HOURS", 72)),
        # Babel: the panel speaks Chinese.
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        # OpenAPI (flask-smorest); Swagger UI assets are served by the app itself.
        "API_TITLE": "机关后勤服务平台 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "JSON_AS_ASCII": False,
    }

    if not production:
        for key, value in _INSECURE.items():
            cfg[key] = cfg[key] or value
    if profile == "test":
        cfg["WTF_CSRF_ENABLED"] = _bool("WTF_CSRF_ENABLED", True)

    cfg.update(overrides or {})

    if production:
        missing = [key for key in REQUIRED_IN_PRODUCTION if not cfg.get(key)]
        if missing:
            raise ConfigError("生产环境缺少必需配置 (missing required settings): " + ", ".join(missing))
        insecure = [key for key, value in _INSECURE.items() if cfg.get(key) == value]
        if insecure:
            raise ConfigError("生产环境不得使用开发密钥 (development keys in production): "
                              + ", ".join(insecure))
    elif not cfg.get("DATABASE_URL") or not cfg.get("REDIS_URL"):
        raise ConfigError(
            "DATABASE_URL and REDIS_URL are not set: start through `python3 dev.py run` "
            "(which starts embedded servers) or give server URLs."
        )
    cfg["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(cfg["DATABASE_URL"])
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_size": cfg["DB_POOL_SIZE"],
        "max_overflow": cfg["DB_MAX_OVERFLOW"],
        "pool_pre_ping": True,
        "pool_timeout": 5,
        "connect_args": {
            "connect_timeout": 3,
            "options": f"-c statement_timeout={cfg['DB_STATEMENT_TIMEOUT_MS']} -c timezone=UTC",
        },
    }
    return cfg


def normalise_db_url(url: str) -> str:
    """Point a postgres URL at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
