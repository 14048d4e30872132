"""Places: one tree of places (building → floor → room or area) that meeting rooms, repairs,
canteens and parking hang off; and the store of mini-program codes that fixed places carry.

The database guarantees what it can by itself (kinds, buildings at the root and everything
else under a parent, one name per parent); which kind may sit under which is a service rule
(`blueprints.places.service.check_place`), since a CHECK cannot look at the parent row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from models.identity import TimestampMixin, in_check

# kind: Chinese label
PLACE_KINDS: dict[str, str] = {"building": "楼宇", "floor": "楼层", "room": "房间", "area": "区域"}
# kind: the kinds its parent may have (an empty tuple: it is a root)
PLACE_PARENT_KINDS: dict[str, tuple[str, ...]] = {
    "building": (),
    "floor": ("building",),
    "room": ("floor", "building"),
    "area": ("floor", "building"),
}
PATH_SEPARATOR = " / "


class Place(TimestampMixin, Base):
    __tablename__ = "place"
    __table_args__ = (
        # One name per parent; buildings (parent NULL) are siblings of each other too.
        UniqueConstraint("parent_id", "name", postgresql_nulls_not_distinct=True),
        # An optional external code (asset or door number), unique across the whole tree.
        UniqueConstraint("code"),
        CheckConstraint(in_check("kind", PLACE_KINDS), name="kind"),
        CheckConstraint("(kind = 'building') = (parent_id IS NULL)", name="root"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint("btrim(name) <> ''", name="name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    parent: Mapped[Place | None] = relationship(remote_side="Place.id")

    def lineage(self) -> list[Place]:
        """The place's ancestors from the root down, then the place itself."""
        chain, node, seen = [], self, set()
        while node is not None and id(node) not in seen:  # `seen`: never loop on bad data
            seen.add(id(node))
            chain.append(node)
            node = node.parent
        return chain[::-1]

    @property
    def path(self) -> str:
        """"1号楼 / 3层 / 301会议室"."""
        return PATH_SEPARATOR.join(node.name for node in self.lineage())

    def __str__(self) -> str:
        return self.path


class WxaCode(Base):
    """Mini-program codes made by WeChat's getwxacodeunlimit, kept as PNG.

    A code never expires and depends only on the mini-program, the scene, the page and the
    width, so it is fetched from WeChat once and served from here afterwards (any process,
    Redis up or down). Scenes name the object (`p=12` is place 12), so a row is never stale."""

    __tablename__ = "wxa_code"
    __table_args__ = (UniqueConstraint("appid", "scene", "page", "width"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appid: Mapped[str] = mapped_column(String(64))
    scene: Mapped[str] = mapped_column(String(32))
    page: Mapped[str] = mapped_column(String(128))  # "" is the mini-program's home page
    width: Mapped[int] = mapped_column(Integer)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
