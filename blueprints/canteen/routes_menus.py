"""Canteen HTTP routes (menus): canteens and slots, dishes, menus, specials, production counts."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.canteen import menus as service
from blueprints.canteen import production
from blueprints.canteen.schemas_menus import (
    CanteenBodySchema,
    CanteenDetailArgs,
    CanteenListArgs,
    CanteenPatchSchema,
    CanteenSchema,
    DishBodySchema,
    DishListArgs,
    DishPatchSchema,
    DishRemovedSchema,
    DishSchema,
    MenuBodySchema,
    MenuListArgs,
    MenuListSchema,
    MenuSchema,
    ProductionArgs,
    ProductionExportArgs,
    ProductionListSchema,
    SlotBodySchema,
    SlotPatchSchema,
    SlotSchema,
    SpecialBodySchema,
    SpecialListArgs,
    SpecialListSchema,
    SpecialPatchSchema,
    SpecialSchema,
)

blp = ApiBlueprint("canteen_menus", __name__, url_prefix="/canteen",
                   description="食堂：食堂与餐次、菜品、菜单、特色菜、配餐报表")

READERS = ("staff", "admin", "auditor", "canteen_manager", "canteen_staff")
OPERATORS = ("canteen_manager", "canteen_staff", "admin")
INTERNAL = ("canteen_manager", "canteen_staff", "admin", "auditor")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_422_RANGE = {"schema": ErrorSchema, "description": "日期范围不正确 (MENU_RANGE_INVALID)"}


def _slot_of(canteen_view: dict, slot_id: int) -> dict:
    return next(s for s in canteen_view["slots"] if s["id"] == slot_id)


# --- canteens and slots ------------------------------------------------------------------

@blp.get("/canteens")
@blp.auth(*READERS)
@blp.arguments(CanteenListArgs, location="query")
@blp.response(200, CanteenSchema(many=True))
def list_canteens(args):
    """食堂列表：各餐次的供餐时间、报餐规则（中文说明）及今天起若干天是否供餐、截止时间"""
    principal = current_principal()
    return [service.canteen_view(principal, c, args["days"])
            for c in service.list_canteens(principal, args["include_inactive"])]


@blp.get("/canteens/<int:canteen_id>")
@blp.auth(*READERS)
@blp.arguments(CanteenDetailArgs, location="query")
@blp.response(200, CanteenSchema)
@blp.alt_response(404, **_404)
def get_canteen(args, canteen_id):
    """一个食堂及其餐次、规则和供餐安排（已停用的食堂仅管理员、审计员和运营单位可见）"""
    principal = current_principal()
    return service.canteen_view(principal, service.get_canteen(principal, canteen_id), args["days"])


@blp.post("/canteens")
@blp.auth("admin")
@blp.arguments(CanteenBodySchema)
@blp.response(201, CanteenSchema)
@blp.alt_response(409, schema=ErrorSchema, description="食堂名称已存在 (CANTEEN_NAME_TAKEN)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "运营单位不是餐饮服务单位 (CANTEEN_COMPANY_INVALID)、地点无效 (CANTEEN_PLACE_INVALID) 或数据不符合要求"))
def create_canteen(body):
    """新建食堂（管理员）"""
    principal = current_principal()
    canteen = service.create_canteen(principal, body)
    db.session.commit()
    return service.canteen_view(principal, canteen)


@blp.put("/canteens/<int:canteen_id>")
@blp.auth("admin")
@blp.arguments(CanteenPatchSchema)
@blp.response(200, CanteenSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="食堂名称已存在 (CANTEEN_NAME_TAKEN)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "运营单位不是餐饮服务单位 (CANTEEN_COMPANY_INVALID)、地点无效 (CANTEEN_PLACE_INVALID) 或数据不符合要求"))
def update_canteen(body, canteen_id):
    """修改食堂（管理员）：名称、运营单位、地点、餐盘回收处、启用"""
    principal = current_principal()
    canteen = service.update_canteen(principal, canteen_id, body)
    db.session.commit()
    return service.canteen_view(principal, canteen)


@blp.post("/canteens/<int:canteen_id>/slots")
@blp.auth("admin")
@blp.arguments(SlotBodySchema)
@blp.response(201, SlotSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="该食堂已设置此餐次 (CANTEEN_SLOT_EXISTS)")
@blp.alt_response(422, schema=ErrorSchema, description="餐次规则不正确 (CANTEEN_SLOT_RULES_INVALID, details.fields)")
def create_slot(body, canteen_id):
    """新增餐次及报餐规则（管理员）

    截止方式：before_start（开餐前 cutoff_minutes 分钟）或 previous_day（前一天 cutoff_time）；
    提前 open_days_ahead（1-60）天开放预订；供餐日 workdays（按工作日历）或 every_day。
    """
    principal = current_principal()
    slot = service.create_slot(principal, canteen_id, body)
    db.session.commit()
    return _slot_of(service.canteen_view(principal, slot.canteen), slot.id)


@blp.put("/slots/<int:slot_id>")
@blp.auth("admin")
@blp.arguments(SlotPatchSchema)
@blp.response(200, SlotSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="该食堂已设置此餐次 (CANTEEN_SLOT_EXISTS)")
@blp.alt_response(422, schema=ErrorSchema, description="餐次规则不正确 (CANTEEN_SLOT_RULES_INVALID, details.fields)")
def update_slot(body, slot_id):
    """修改餐次规则（管理员）；只需提交要改的字段，规则整体校验"""
    principal = current_principal()
    slot = service.update_slot(principal, slot_id, body)
    db.session.commit()
    return _slot_of(service.canteen_view(principal, slot.canteen), slot.id)


# --- dishes ------------------------------------------------------------------------------

@blp.get("/canteens/<int:canteen_id>/dishes")
@blp.auth(*INTERNAL)
@blp.arguments(DishListArgs, location="query")
@blp.response(200, DishSchema(many=True))
@blp.alt_response(404, **_404)
def list_dishes(args, canteen_id):
    """本食堂的菜品库（运营单位、管理员、审计员）；其他食堂的运营单位为 403"""
    return service.list_dishes(current_principal(), canteen_id, args["include_inactive"])


@blp.post("/canteens/<int:canteen_id>/dishes")
@blp.auth(*OPERATORS)
@blp.arguments(DishBodySchema)
@blp.response(201, DishSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="本食堂已有同名菜品 (DISH_NAME_TAKEN)")
@blp.alt_response(422, schema=ErrorSchema, description="图片无效 (DISH_PHOTO_INVALID) 或数据不符合要求")
def create_dish(body, canteen_id):
    """新增菜品（本食堂运营单位、管理员）：名称、类别、过敏原、价格（分，空为免费）、可选份量、图片"""
    dish = service.create_dish(current_principal(), canteen_id, body)
    db.session.commit()
    return dish


@blp.put("/dishes/<int:dish_id>")
@blp.auth(*OPERATORS)
@blp.arguments(DishPatchSchema)
@blp.response(200, DishSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="本食堂已有同名菜品 (DISH_NAME_TAKEN)")
@blp.alt_response(422, schema=ErrorSchema, description="图片无效 (DISH_PHOTO_INVALID) 或数据不符合要求")
def update_dish(body, dish_id):
    """修改菜品（本食堂运营单位、管理员）；只需提交要改的字段，is_active=false 为停用"""
    dish = service.update_dish(current_principal(), dish_id, body)
    db.session.commit()
    return dish


@blp.delete("/dishes/<int:dish_id>")
@blp.auth(*OPERATORS)
@blp.response(200, DishRemovedSchema)
@blp.alt_response(404, **_404)
def remove_dish(dish_id):
    """删除菜品：从未用过的删除；已上过菜单、特色菜或被预选的改为停用（保留历史）"""
    dish, deleted = service.remove_dish(current_principal(), dish_id)
    db.session.commit()
    return {"deleted": deleted, "dish": dish}


# --- menus -------------------------------------------------------------------------------

@blp.get("/menus")
@blp.auth(*READERS)
@blp.arguments(MenuListArgs, location="query")
@blp.response(200, MenuListSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_422_RANGE)
def list_menus(args):
    """菜单（按日期、餐次）：员工只看到已发布的；本食堂运营单位、管理员、审计员也看到草稿

    每个菜单含菜品（类别、过敏原、价格或免费、可选份量、图片）和当天该餐次在售的特色菜（剩余份数、开抢时间）。
    """
    items = service.menus_between(current_principal(), args["canteen_id"], args["first"], args["last"],
                                  args.get("slot_id"))
    return {"items": items}


@blp.put("/menus")
@blp.auth(*OPERATORS)
@blp.arguments(MenuBodySchema)
@blp.response(200, MenuSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="已过报餐截止时间，已发布的菜单不能修改 (MENU_LOCKED)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "菜品无效 (MENU_DISH_INVALID, details.ids)、当天不供餐 (MENU_DAY_NOT_SERVED)、该餐已结束 (MENU_DAY_PAST) "
    "或数据不符合要求"))
def save_menu(body):
    """保存某餐次某天的菜单（本食堂运营单位、管理员）

    没有菜单时新建为草稿；已有时整体替换菜品和备注。已发布的菜单在报餐截止前可替换（仍为已发布，记入审计日志）。
    """
    principal = current_principal()
    menu = service.save_menu(principal, body["slot_id"], body["day"], body["dish_ids"], body["note"])
    db.session.commit()
    return _menu(principal, menu)


def _menu(principal, menu):
    slot = service.get_slot(principal, menu.slot_id)
    specials = service.specials_between([slot.id], menu.day, menu.day).get((slot.id, menu.day), [])
    return service.menu_view(menu, slot, specials)


@blp.post("/menus/<int:menu_id>/publish")
@blp.auth(*OPERATORS)
@blp.response(200, MenuSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, schema=ErrorSchema, description="菜单没有菜品 (MENU_EMPTY) 或该餐已结束 (MENU_DAY_PAST)")
def publish_menu(menu_id):
    """发布菜单（本食堂运营单位、管理员）；已发布的原样返回"""
    principal = current_principal()
    menu = service.publish_menu(principal, menu_id)
    db.session.commit()
    return _menu(principal, menu)


# --- specials ----------------------------------------------------------------------------

@blp.get("/canteens/<int:canteen_id>/specials")
@blp.auth(*INTERNAL)
@blp.arguments(SpecialListArgs, location="query")
@blp.response(200, SpecialListSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_422_RANGE)
def list_specials(args, canteen_id):
    """本食堂的特色菜（运营单位、管理员、审计员），含已下架的；员工看 GET /canteen/specials 或菜单"""
    return {"items": service.list_specials(current_principal(), canteen_id, args["first"], args["last"])}


@blp.post("/specials")
@blp.auth(*OPERATORS)
@blp.arguments(SpecialBodySchema)
@blp.response(201, SpecialSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, schema=ErrorSchema, description=(
    "开抢时间不早于报餐截止 (SPECIAL_OPENS_AT_INVALID)、菜品无效 (SPECIAL_DISH_INVALID)、当天不供餐 "
    "(MENU_DAY_NOT_SERVED)、已过截止 (MENU_DAY_PAST) 或数据不符合要求"))
def create_special(body):
    """设置特色菜（本食堂运营单位、管理员）：份数有限，开抢后先到先得"""
    special = service.create_special(current_principal(), body)
    db.session.commit()
    return service.special_view(special)


@blp.put("/specials/<int:special_id>")
@blp.auth(*OPERATORS)
@blp.arguments(SpecialPatchSchema)
@blp.response(200, SpecialSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "已有人预订时不能减少份数 (SPECIAL_PORTIONS_DECREASE, details.booked)、已开抢不能改开抢时间 "
    "(SPECIAL_ALREADY_OPEN) 或已下架 (SPECIAL_INACTIVE)"))
@blp.alt_response(422, schema=ErrorSchema, description=(
    "开抢时间不早于报餐截止 (SPECIAL_OPENS_AT_INVALID)、菜品无效 (SPECIAL_DISH_INVALID)、"
    "该餐已结束 (MENU_DAY_PAST)"))
def update_special(body, special_id):
    """修改特色菜（本食堂运营单位、管理员）：份数只能增加（无人预订时可减少），剩余份数随之调整"""
    special = service.update_special(current_principal(), special_id, body)
    db.session.commit()
    return service.special_view(special)


@blp.post("/specials/<int:special_id>/deactivate")
@blp.auth(*OPERATORS)
@blp.response(200, SpecialSchema)
@blp.alt_response(404, **_404)
def deactivate_special(special_id):
    """下架特色菜（本食堂运营单位、管理员）：不能再预订，已有预订保留"""
    special = service.deactivate_special(current_principal(), special_id)
    db.session.commit()
    return service.special_view(special)


# --- production counts -------------------------------------------------------------------

@blp.get("/production")
@blp.auth(*INTERNAL)
@blp.arguments(ProductionArgs, location="query")
@blp.response(200, ProductionListSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, schema=ErrorSchema, description="餐次不属于该食堂 (PRODUCTION_SLOT_INVALID)")
def get_production(args):
    """配餐报表（本食堂运营单位、管理员、审计员）：某天各餐次的预订份数、各菜品预选份数、特色菜和建议备餐份数

    建议备餐份数 = ⌈预订份数 × (1 − 近期未取餐率)⌉；未取餐率取该餐次近 CANTEEN_FORECAST_WEEKS 周同星期的
    未取餐 ÷ (已取餐 + 未取餐)，无数据时取该餐次近期全部日期，仍无则为 0。报餐截止前 status 为 forecast，之后为 final。
    """
    return {"items": production.production(current_principal(), args["canteen_id"], args["day"],
                                           args.get("slot_id"))}


@blp.get("/production.xlsx")
@blp.auth(*INTERNAL)
@blp.arguments(ProductionExportArgs, location="query")
@blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
@blp.doc(responses={"200": {"description": "配餐报表 XLSX（配餐汇总、菜品明细、特色菜、说明）", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_422_RANGE)
def export_production(args):
    """导出配餐报表 XLSX（本食堂运营单位、管理员、审计员），最多 62 天"""
    principal = current_principal()
    canteen = service.get_canteen(principal, args["canteen_id"])
    data = production.export_xlsx(principal, canteen.id, args["first"], args["last"])
    filename = f"配餐报表-{canteen.name}-{args['first']:%Y%m%d}-{args['last']:%Y%m%d}.xlsx"
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": f"attachment; filename=\"production.xlsx\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store"})
