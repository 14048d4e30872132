"""Bearer tokens and the permission layer.

Tokens are random strings; PostgreSQL keeps only their SHA-256 (`api_token`), with an
expiry and a revocation time. Redis caches a verified token's principal for a few minutes
(TOKEN_CACHE_SECONDS) so most requests need no database read; when Redis is down every
request is verified from PostgreSQL instead. Revocation writes PostgreSQL and deletes the
cache entries after commit, so it is effective at once.

Permission checks:
- `blp.auth(*roles)` on a route: a valid token, and (when roles are given) one of them.
- `Principal.has_role(role, scope_kind, scope_id)`: role with scope, e.g. a canteen
  manager of company 3.
- Ownership is decided in the service with the object in hand (`ensure_visible`): staff see
  their own, a contractor its company's, admins (and read-only auditors) everything; an
  object the caller may not see is reported as NOT_FOUND so ids cannot be probed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from functools import wraps

import flask_smorest
import redis
from flask import current_app, g, has_request_context, request
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.crypto import token_hash
from app.errors import AppError, ErrorSchema
from app.extensions import db, get_redis
from app.timeutil import utcnow
from app.txn import after_commit
from models import ApiToken, User

log = logging.getLogger(__name__)
_CACHE_PREFIX = "auth:tok:"


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    kind: str
    company_id: int | None
    department_id: int | None
    grants: tuple[tuple[str, str, int | None], ...] = field(default_factory=tuple)
    token_id: int | None = None

    @property
    def roles(self) -> set[str]:
        return {role for role, _, _ in self.grants}

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def has_role(self, role: str, scope_kind: str | None = None, scope_id: int | None = None) -> bool:
        for r, kind, sid in self.grants:
            if r != role:
                continue
            if scope_kind is None or kind == "global" or (kind == scope_kind and sid == scope_id):
                return True
        return False

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def reads_everything(self) -> bool:
        """Administrators and read-only auditors see every record."""
        return self.has_any("admin", "auditor")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Principal:
        data = json.loads(raw)
        data["grants"] = tuple(tuple(gr) for gr in data["grants"])
        return cls(**data)

    @classmethod
    def for_user(cls, user: User, token_id: int | None = None) -> Principal:
        return cls(
            user_id=user.id, name=user.name, kind=user.kind, company_id=user.company_id,
            department_id=user.department_id, token_id=token_id,
            grants=tuple(sorted((gr.role, gr.scope_kind, gr.scope_id) for gr in user.roles)),
        )


# --- tokens -------------------------------------------------------------------------------

def issue_token(user: User, client: str = "miniapp") -> tuple[str, ApiToken]:
    """Create a token for `user` (in the caller's transaction) and return (raw, row)."""
    raw = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_hash(raw), client=client,
                   expires_at=utcnow() + current_app.config["TOKEN_TTL"])
    db.session.add(row)
    db.session.flush()
    return raw, row


def _cache_delete(hashes: list[str]) -> None:
    if not hashes:
        return
    try:
        get_redis().delete(*[_CACHE_PREFIX + h for h in hashes])
    except redis.RedisError:
        log.warning("token cache not reachable during revocation; entries expire within %ss",
                    current_app.config["TOKEN_CACHE_SECONDS"])


def revoke_tokens(user_id: int, reason: str, token_id: int | None = None) -> int:
    """Revoke one token or all of a user's live tokens; effective once the caller commits."""
    stmt = (update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .returning(ApiToken.token_hash))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    hashes = list(db.session.execute(stmt).scalars())
    app = current_app._get_current_object()

    def _invalidate():
        with app.app_context():
            _cache_delete(hashes)

    _cache_delete(hashes)  # now, and again after commit (a request may re-cache meanwhile)
    after_commit(db.session, _invalidate)
    return len(hashes)


def authenticate(raw: str) -> Principal:
    digest = token_hash(raw)
    r = get_redis()
    try:
        cached = r.get(_CACHE_PREFIX + digest)
    except redis.RedisError:
        cached = None
    if cached:
        return Principal.from_json(cached)

    # One statement: the token, its user and the user's role grants (joined eagerly).
    row = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest).options(joinedload(User.roles))
    ).unique().first()
    now = utcnow()
    if row is None or row.ApiToken.revoked_at is not None or row.ApiToken.expires_at <= now:
        raise AppError("TOKEN_INVALID")
    token, user = row.ApiToken, row.User
    if not user.is_active:
        raise AppError("USER_DISABLED")
    principal = Principal.for_user(user, token_id=token.id)
    ttl = min(current_app.config["TOKEN_CACHE_SECONDS"], int((token.expires_at - now).total_seconds()))
    if ttl > 0:
        with contextlib.suppress(redis.RedisError):
            r.set(_CACHE_PREFIX + digest, principal.to_json(), ex=ttl)
    return principal


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_principal() -> Principal:
    """The signed-in principal; AUTH_REQUIRED / TOKEN_INVALID otherwise."""
    if "principal" not in g:
        raw = _bearer()
        if raw is None:
            raise AppError("AUTH_REQUIRED", headers={"WWW-Authenticate": "Bearer"})
        g.principal = authenticate(raw)
    return g.principal


def current_principal_or_none() -> Principal | None:
    if not has_request_context():
        return None
    if "principal" in g:
        return g.principal
    if _bearer() is None:
        return None
    try:
        return current_principal()
    except AppError:
        return None


def ensure_visible(visible: bool) -> None:
    """Ownership check: an object the caller may not see does not exist for them."""
    if not visible:
        raise AppError("NOT_FOUND")


# --- routes -------------------------------------------------------------------------------

class ApiBlueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint with `auth(*roles)`: checks the token (and roles) and
    documents the bearer security and the 401/403 answers in OpenAPI."""

    def auth(self, *roles: str):
        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                principal = current_principal()
                if roles and not principal.has_any(*roles):
                    raise AppError("FORBIDDEN", details={"required_roles": list(roles)})
                return func(*args, **kwargs)

            doc: dict = {"security": [{"bearerAuth": []}]}
            if roles:
                doc["description"] = "需要角色 (roles): " + ", ".join(roles)
            wrapper = self.doc(**doc)(wrapper)
            wrapper = self.alt_response(401, schema=ErrorSchema, description="未登录或令牌无效")(wrapper)
            wrapper = self.alt_response(403, schema=ErrorSchema, description="没有权限")(wrapper)
            return wrapper

        return decorator
