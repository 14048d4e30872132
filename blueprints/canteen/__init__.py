"""Canteen booking (报餐) and anti-food-waste tracking (光盘行动).

rules.py holds the time rules and the meal booking's lifecycle; each part brings its own
service, schemas and blueprint, and lists the blueprint in `BLUEPRINTS` (registered by
app/api.py under /api/v1)."""

from blueprints.canteen.routes_booking import blp as booking_blp
from blueprints.canteen.routes_dish_ratings import blp as dish_ratings_blp
from blueprints.canteen.routes_menus import blp as menus_blp
from blueprints.canteen.routes_waste import blp as waste_blp

BLUEPRINTS = [menus_blp, booking_blp, waste_blp, dish_ratings_blp]
