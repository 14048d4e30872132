"""Application factory. Importing this package opens no connection."""

from __future__ import annotations

from flask import Flask, send_from_directory
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.config import load_config


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: str | dict | None = None) -> Flask:
    """`config` is a profile name ("development", "test", "production"), a dict of
    overrides (with an optional "APP_ENV" profile), or None for APP_ENV's profile."""
    if isinstance(config, dict):
        overrides = dict(config)
        profile = overrides.pop("APP_ENV", None)
    else:
        overrides, profile = {}, config
    app = Flask(__name__)
    app.config.update(load_config(profile, overrides))
    app.json.ensure_ascii = False

    from app.logging_setup import configure_logging

    configure_logging("WARNING" if app.testing else "INFO")

    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])

    from app.errors import register_error_handlers
    from app.extensions import db, init_redis, limiter

    db.init_app(app)
    init_redis(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {
        "socket_timeout": app.config["REDIS_SOCKET_TIMEOUT"],
        "socket_connect_timeout": app.config["REDIS_SOCKET_TIMEOUT"]})
    # Redis down: limits fail open to a per-process in-memory counter (README, "Redis").
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    # Ids are PostgreSQL integers: a larger number in a URL matches no route (404), instead of
    # reaching the database as an out-of-range value.
    app.url_map.converters["int"] = IdConverter

    from app.api import init_api

    init_api(app)
    register_error_handlers(app)

    from app.health import bp as health_bp

    app.register_blueprint(health_bp)

    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/docs/assets/<path:filename>")
    @limiter.exempt
    def swagger_assets(filename: str):
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    from admin import init_admin

    init_admin(app)

    from app.cli import register_cli

    register_cli(app)
    return app
