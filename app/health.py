"""Liveness (/ping, no I/O) and readiness (/healthz: database and Redis)."""

from __future__ import annotations

import redis
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, get_redis, limiter

bp = Blueprint("health", __name__)


@bp.get("/ping")
@limiter.exempt
def ping():
    return jsonify(status="ok")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unavailable"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except redis.RedisError:
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    if healthy:
        return jsonify(status="ok", checks=checks)
    body = {"code": "SERVICE_UNAVAILABLE", "message": "服务暂时不可用，请稍后再试", "details": checks}
    return jsonify(body), 503
