"""Places (the building → floor → room/area tree), the scenes of mini-program codes, and the
working calendar. Three blueprints, one per tag in the API document; app/api.py registers
`BLUEPRINTS`."""

from __future__ import annotations

from flask import Response

from app import workcalendar
from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.places import calendar, service
from blueprints.places.schemas import (
    CalendarDaysArgs,
    CalendarDaySchema,
    CalendarYearBodySchema,
    CalendarYearSchema,
    PlaceBodySchema,
    PlaceListArgs,
    PlaceSchema,
    PlaceTreeSchema,
    ResolvedSceneSchema,
    SceneArgs,
    TreeArgs,
)
from miniapp_api import codes

places_blp = ApiBlueprint("places", __name__, url_prefix="/places",
                          description="地点：楼宇 → 楼层 → 房间或区域；地点小程序码")
scenes_blp = ApiBlueprint("scenes", __name__, url_prefix="/scenes", description="扫码：解析小程序码的 scene")
calendar_blp = ApiBlueprint("calendar", __name__, url_prefix="/calendar",
                            description="工作日历：节假日与调休上班日")
BLUEPRINTS = (places_blp, scenes_blp, calendar_blp)


# --- places ------------------------------------------------------------------------------

@places_blp.get("")
@places_blp.auth()
@places_blp.arguments(PlaceListArgs, location="query")
@places_blp.response(200, PlaceSchema(many=True))
def list_places(args):
    """地点列表（平铺，每项带完整路径）

    按树的先序排列：楼宇、其楼层、各楼层的房间…；可按类型、上级筛选。停用的地点（及其下级）
    仅管理员和审计员可用 include_inactive 查看。
    """
    return service.list_places(current_principal(), **args)


@places_blp.get("/tree")
@places_blp.auth()
@places_blp.arguments(TreeArgs, location="query")
@places_blp.response(200, PlaceTreeSchema(many=True))
def place_tree(args):
    """地点树（嵌套 children）"""
    return service.place_tree(current_principal(), args["include_inactive"])


@places_blp.get("/<int:place_id>")
@places_blp.auth()
@places_blp.response(200, PlaceSchema)
def get_place(place_id):
    """查看地点（含路径与上级）；已停用的地点仅管理员和审计员可见"""
    return service.get_place(current_principal(), place_id)


@places_blp.post("")
@places_blp.auth("admin")
@places_blp.arguments(PlaceBodySchema)
@places_blp.response(201, PlaceSchema)
@places_blp.alt_response(409, schema=ErrorSchema, description="同一上级下重名或编码重复 (CONFLICT)")
def create_place(body):
    """新建地点（管理员）

    楼宇没有上级，楼层属于楼宇，房间和区域属于楼层或楼宇，否则为 PLACE_PARENT_INVALID。
    """
    place = service.create_place(current_principal(), body)
    db.session.commit()
    return place


@places_blp.put("/<int:place_id>")
@places_blp.auth("admin")
@places_blp.arguments(PlaceBodySchema)
@places_blp.response(200, PlaceSchema)
@places_blp.alt_response(409, schema=ErrorSchema,
                         description="重名、编码重复 (CONFLICT)，或下级地点与新类型不符 (PLACE_HAS_CHILDREN)")
def update_place(body, place_id):
    """修改地点（管理员）

    停用（is_active=false）后，该地点及其下级不再对普通用户显示，其小程序码扫码无效。
    """
    principal = current_principal()
    place = service.get_place(principal, place_id)
    service.update_place(principal, place, body)
    db.session.commit()
    return place


@places_blp.get("/<int:place_id>/wxa-code")
@places_blp.auth("admin")
@places_blp.response(200, content_type="image/png")
@places_blp.doc(responses={"200": {"description": "小程序码 PNG（scene 为 p=<地点 id>）",
                                   "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
@places_blp.alt_response(503, schema=ErrorSchema,
                         description="微信未配置 (WX_NOT_CONFIGURED)、微信不可用 (WX_UNAVAILABLE, WX_BUSY) "
                                     "或小程序页面无效 (WXA_CODE_PAGE_INVALID)")
@places_blp.alt_response(429, schema=ErrorSchema, description="微信接口频率受限 (WX_RATE_LIMITED)")
def place_wxa_code(place_id):
    """地点的小程序码 PNG（管理员）

    用于打印张贴在门牌、餐台等处；用户扫码后，小程序把 options.scene 交给
    GET /api/v1/scenes/resolve。首次向微信获取，之后从数据库读取。
    """
    place = service.get_place(current_principal(), place_id)
    png = service.place_code_png(place)
    db.session.commit()  # the fetched code is kept
    return Response(png, mimetype="image/png", headers={
        "Content-Disposition": f'inline; filename="place-{place.id}.png"',
        "Cache-Control": "private, max-age=86400"})


# --- scenes ------------------------------------------------------------------------------

@scenes_blp.get("/resolve")
@scenes_blp.auth()
@scenes_blp.arguments(SceneArgs, location="query")
@scenes_blp.response(200, ResolvedSceneSchema)
@scenes_blp.alt_response(404, schema=ErrorSchema, description="二维码无效或对象已停用 (SCENE_NOT_FOUND)")
def resolve_scene(args):
    """解析扫码得到的 scene（已登录用户）

    如 p=12 → {"type": "place", "id": 12, "place": {...}}。scene 不合微信规则（最长 32 位，
    限定字符）为 422 VALIDATION_ERROR；格式不对、类型未知、对象不存在或已停用为 404 SCENE_NOT_FOUND。
    """
    return codes.resolve_scene(current_principal(), args["scene"])


# --- calendar ----------------------------------------------------------------------------

@calendar_blp.get("/days")
@calendar_blp.auth()
@calendar_blp.arguments(CalendarDaysArgs, location="query")
@calendar_blp.response(200, CalendarDaySchema(many=True))
def calendar_days(args):
    """逐日是否工作日

    from 至 to（含两端，最多 366 天）；节假日、调休上班日与周末均已计入。
    """
    return workcalendar.days(args["first"], args["last"])


@calendar_blp.get("/<int:year>")
@calendar_blp.auth()
@calendar_blp.response(200, CalendarYearSchema)
def get_calendar_year(year):
    """某年的节假日与调休上班日（其余日期按星期一至五上班）"""
    return calendar.calendar_year(year)


@calendar_blp.put("/<int:year>")
@calendar_blp.auth("admin")
@calendar_blp.arguments(CalendarYearBodySchema)
@calendar_blp.response(200, CalendarYearSchema)
def put_calendar_year(body, year):
    """整年载入节假日与调休上班日（管理员）

    替换该年原有数据。日期须在该年内 (CALENDAR_DATE_OUTSIDE_YEAR)、同一列表中不重复
    (CALENDAR_DUPLICATE_DATE)、不能既放假又上班 (CALENDAR_HOLIDAY_IS_WORKDAY)，调休上班日须是
    星期六或星期日 (CALENDAR_WORKDAY_NOT_WEEKEND)；年份限 2000–2100 (CALENDAR_YEAR_INVALID)。
    """
    result = calendar.replace_year(current_principal(), year, body["holidays"], body["workdays"])
    db.session.commit()
    return result
