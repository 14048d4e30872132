"""菜品评价: rate the dishes of a served meal, read a booking's dishes with the diner's stars."""

from __future__ import annotations

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.canteen import dish_ratings as service
from blueprints.canteen import rules
from blueprints.canteen.schemas_dish_ratings import BookingDishRatingsSchema, DishRatingBodySchema

blp = ApiBlueprint("canteen_dish_ratings", __name__, url_prefix="/canteen", description="食堂：菜品评价")


@blp.post("/bookings/<int:booking_id>/dish-ratings")
@blp.auth()
@blp.arguments(DishRatingBodySchema)
@blp.response(200, BookingDishRatingsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="预订不存在或不是本人的 (NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "未取餐 (CANTEEN_DISH_RATING_NOT_SERVED)、已超过评价期限 (CANTEEN_DISH_RATING_WINDOW_CLOSED, "
    "details.rateable_until)"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "菜品不是这餐的菜品 (CANTEEN_DISH_RATING_DISH_INVALID, details.ids)、星级不是 1-5 或数据不符合要求"))
def rate_dishes(body, booking_id):
    """评价这餐的菜品（本人，已取餐后 RATING_WINDOW_DAYS 天内；期限内可重新评价，以最后一次为准）

    可评价的菜品：当天该餐次已发布菜单上的菜品、预订时预选的菜品和特色菜。
    这餐本身的评价见 /api/v1/ratings（meal_booking）。
    """
    principal = current_principal()
    now = rules.clock()
    service.rate_dishes(principal, booking_id, body["ratings"], now=now)
    db.session.commit()
    return service.read(principal, booking_id, now=now)


@blp.get("/bookings/<int:booking_id>/dish-ratings")
@blp.auth()
@blp.response(200, BookingDishRatingsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="不存在或无权查看 (NOT_FOUND)")
def get_dish_ratings(booking_id):
    """这餐的菜品及本人评的星级（本人、本食堂运营单位、管理员、审计员；运营单位看不到星级）"""
    return service.read(current_principal(), booking_id, now=rules.clock())
