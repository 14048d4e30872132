"""Ratings of finished orders (服务评价) and the follow-ups of low ratings (差评回访).

- `Rating`: one per order (UNIQUE service_type + order_id, enforced by the database), by the
  order's owner, with the contractor responsible when it was made, 1–5 stars (CHECK), tags
  from the service type's configured list, a comment (required at 2 stars or fewer), an
  anonymous flag and the WeChat content-security verdict of the comment. The rater is always
  stored; who may see them is the service's business (never a contractor).
- `RatingFollowup`: opened with a rating of 2 stars or fewer, an order of its own with a
  lifecycle (blueprints/ratings/service.py FOLLOWUP): open → in_progress → closed with the
  action taken (整改措施) and the reply (答复) that reaches the rater. `user_id` is the rater
  (the lifecycle's owner column); `due_at` is 3 working days after opening (overdue flag).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.errors import register_codes
from app.extensions import Base
from models.identity import Company, TimestampMixin, User, in_check

register_codes({
    "RATING_SERVICE_TYPE_UNKNOWN": (
        422, "该服务类型不支持评价",
        "Ratings: `service_type` is not an order type that can be rated; `details.service_types` lists "
        "those that can."),
    "RATING_NOT_OWNER": (
        403, "只有下单人本人可以评价",
        "Ratings: the caller may see the order (or the rating) but is not its owner (the rater): only the "
        "owner rates, and only the rater edits."),
    "RATING_ORDER_NOT_FINISHED": (
        409, "订单尚未完成，暂不能评价",
        "Ratings: the order is not in a finished (rateable) state; `details`: {current, current_label, "
        "rateable_states}."),
    "RATING_WINDOW_CLOSED": (
        409, "已超过评价期限",
        "Ratings: more than RATING_WINDOW_DAYS have passed since the order finished; `details`: "
        "{finished_at, rateable_until}."),
    "RATING_EXISTS": (
        409, "该订单已评价，不能重复评价",
        "Ratings: the order has been rated already (also the answer to the loser of two submits at once); "
        "`details.rating_id` is the existing rating (edit it with PATCH within RATING_EDIT_HOURS)."),
    "RATING_EDIT_CLOSED": (
        409, "评价提交已超过可修改时限",
        "Ratings: RATING_EDIT_HOURS have passed since the rating was made; `details.editable_until`."),
    "RATING_COMMENT_REQUIRED": (
        422, "评价为 2 星及以下时，请填写具体意见",
        "Ratings: a comment is required when stars <= 2 (it opens a follow-up that answers it)."),
    "RATING_TAG_UNKNOWN": (
        422, "评价标签无效",
        "Ratings: a tag is not in the service type's list; `details`: {unknown, allowed} "
        "(GET /api/v1/ratings/options?service_type=...)."),
})

STARS = (1, 2, 3, 4, 5)
LOW_STARS = 2  # a rating of this many stars or fewer needs a comment and opens a follow-up
COMMENT_MAX = 500
TAG_MAX_LENGTH = 20
MAX_TAGS = 6
# The comment's content-security verdict (miniapp_api.security.check_text); NULL: no comment.
CONTENT_VERDICTS = ("pass", "review", "skipped")
FOLLOWUP_STATUSES = ("open", "in_progress", "closed")
FOLLOWUP_TEXT_MAX = 1000


class Rating(TimestampMixin, Base):
    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("service_type", "order_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        CheckConstraint("edit_count >= 0", name="edit_count"),
        CheckConstraint(f"stars > {LOW_STARS} OR comment IS NOT NULL", name="low_comment"),
        CheckConstraint(in_check("content_check", CONTENT_VERDICTS), name="content_check"),
        Index("ix_rating_company_id_created_at", "company_id", "created_at"),
        Index("ix_rating_user_id_id", "user_id", "id"),
        Index("ix_rating_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(Integer)
    # The contractor responsible when the rating was made (Lifecycle.contractor_of).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="RESTRICT"))
    # The rater (the order's owner), always stored; shown to administrators unless anonymous,
    # never to contractors.
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(TAG_MAX_LENGTH)), default=list,
                                            server_default=text("'{}'"))
    comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    content_check: Mapped[str | None] = mapped_column(String(10))
    edit_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    company: Mapped[Company | None] = relationship()
    user: Mapped[User] = relationship()
    followup: Mapped[RatingFollowup | None] = relationship(back_populates="rating", uselist=False)

    @property
    def low(self) -> bool:
        return self.stars <= LOW_STARS

    @property
    def flagged(self) -> bool:
        """WeChat asked for a human look at the comment (accepted, shown, flagged for admins)."""
        return self.content_check == "review"


class RatingFollowup(TimestampMixin, Base):
    __tablename__ = "rating_followup"
    __table_args__ = (
        UniqueConstraint("rating_id"),
        CheckConstraint(in_check("status", FOLLOWUP_STATUSES), name="status"),
        CheckConstraint("status <> 'closed' OR (action_taken IS NOT NULL AND reply IS NOT NULL "
                        "AND closed_at IS NOT NULL)", name="closed_answered"),
        Index("ix_rating_followup_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id", ondelete="CASCADE"))
    # The rater: the lifecycle's owner column (who is answered).
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="open", server_default="open")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    action_taken: Mapped[str | None] = mapped_column(String(FOLLOWUP_TEXT_MAX))
    reply: Mapped[str | None] = mapped_column(String(FOLLOWUP_TEXT_MAX))
    # The administrator who last moved it (started or closed it).
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    rating: Mapped[Rating] = relationship(back_populates="followup")
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
