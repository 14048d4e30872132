"""SQLAlchemy 2.x typed models, one module per domain. Importing this package registers all
tables on the shared metadata (Alembic and the app both import it)."""

import models.attachments  # noqa: F401
import models.canteen  # noqa: F401
import models.notifications  # noqa: F401
import models.parking  # noqa: F401
import models.platform  # noqa: F401
import models.points  # noqa: F401
import models.ratings  # noqa: F401
import models.rooms  # noqa: F401
import models.visitors  # noqa: F401
from app.extensions import Base, db
from models.audit import AuditLog
from models.calendar import CalendarDay  # noqa: F401
from models.identity import (
    COMPANY_KINDS,
    ROLES,
    SCOPE_KINDS,
    ApiToken,
    Company,
    Department,
    InviteCode,
    RoleGrant,
    User,
    WechatIdentity,
)
from models.places import Place, WxaCode  # noqa: F401

__all__ = [
    "Base", "db", "AuditLog", "ApiToken", "Company", "Department", "InviteCode", "RoleGrant",
    "User", "WechatIdentity", "ROLES", "COMPANY_KINDS", "SCOPE_KINDS",
]
