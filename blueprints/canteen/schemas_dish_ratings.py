"""Schemas of the dish rating routes (菜品评价) and the rating figures the menus show."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas import BusinessDate, Id, LocalDateTime
from blueprints.canteen.dish_ratings import MAX_ITEMS, MAX_STARS, MIN_STARS, SUMMARY_DAYS


class DishRatingFiguresSchema(ma.Schema):
    average = ma.fields.Float(allow_none=True, required=True,
                              metadata={"description": f"近 {SUMMARY_DAYS} 天平均星级（两位小数），无评价为 null",
                                        "example": 4.33})
    count = ma.fields.Integer(required=True, metadata={"description": f"近 {SUMMARY_DAYS} 天评价数"})


class DishStarsSchema(ma.Schema):
    dish_id = Id(required=True)
    stars = ma.fields.Integer(required=True, validate=validate.Range(min=MIN_STARS, max=MAX_STARS),
                              metadata={"description": f"{MIN_STARS}-{MAX_STARS} 星"})


class DishRatingBodySchema(ma.Schema):
    ratings = ma.fields.List(ma.fields.Nested(DishStarsSchema), required=True,
                             validate=validate.Length(min=1, max=MAX_ITEMS),
                             metadata={"description": f"1-{MAX_ITEMS} 道菜品，每道菜品一次"})


class BookingDishSchema(ma.Schema):
    dish_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    stars = ma.fields.Integer(allow_none=True, required=True, metadata={
        "description": "本人评的星级；未评为 null（食堂运营单位查看时始终为 null）"})
    rated_at = LocalDateTime(allow_none=True, required=True)
    updated_at = LocalDateTime(allow_none=True, required=True)


class BookingDishRatingsSchema(ma.Schema):
    booking_id = ma.fields.Integer(required=True)
    canteen_id = ma.fields.Integer(required=True)
    day = BusinessDate(required=True)
    meal = ma.fields.String(required=True)
    meal_label = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    can_rate = ma.fields.Boolean(required=True, metadata={"description": "本人现在能否评价（或修改评价）"})
    reason = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "不能评价的原因代码（仅本人）：CANTEEN_DISH_RATING_NOT_SERVED、"
                       "CANTEEN_DISH_RATING_WINDOW_CLOSED"})
    reason_message = ma.fields.String(allow_none=True, required=True)
    rateable_until = LocalDateTime(allow_none=True, required=True, metadata={"description": "评价（及修改）截止时间"})
    items = ma.fields.List(ma.fields.Nested(BookingDishSchema), required=True,
                           metadata={"description": "这餐的菜品（当天已发布菜单、预选菜品、特色菜）"})
