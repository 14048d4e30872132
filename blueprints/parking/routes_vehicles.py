"""员工车辆登记。"""

from __future__ import annotations

from flask import current_app

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from blueprints.parking import vehicles
from blueprints.parking.schemas_vehicles import VehicleCreateSchema, VehicleListArgs, VehicleSchema

blp = ApiBlueprint("parking_vehicles", __name__, url_prefix="/parking", description="停车：员工车辆登记")


@blp.get("/vehicles")
@blp.auth("staff", "admin", "auditor")
@blp.arguments(VehicleListArgs, location="query")
@blp.response(200, VehicleSchema(many=True))
def list_vehicles(args):
    """我的车辆（管理员、审计员可按 user_id 查看他人的）"""
    return vehicles.list_vehicles(current_principal(), args["user_id"])


@blp.post("/vehicles")
@blp.auth("staff")
@blp.arguments(VehicleCreateSchema)
@blp.response(201, VehicleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "已达登记上限 (PARKING_VEHICLE_LIMIT)、车牌已被登记 (PARKING_PLATE_TAKEN，details.mine 表示是否本人)"))
@blp.alt_response(422, schema=ErrorSchema, description="车牌号格式不正确 (PARKING_PLATE_INVALID)")
def add_vehicle(body):
    """登记车辆：普通、新能源（8 位）、警用、武警、军用、使领馆、粤港澳跨境车牌

    一个车牌只能属于一位在用的登记人；每人最多登记的数量由配置决定。登记后各停车场道闸即可放行。
    """
    vehicle = vehicles.add_vehicle(current_principal(), body, current_app.config["PARKING_MAX_VEHICLES"])
    db.session.commit()
    return vehicle


@blp.delete("/vehicles/<int:vehicle_id>")
@blp.auth("staff", "admin")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="不存在或无权操作 (NOT_FOUND)")
def remove_vehicle(vehicle_id):
    """删除登记的车辆（本人或管理员）；道闸白名单随之移除"""
    vehicles.remove_vehicle(current_principal(), vehicle_id)
    db.session.commit()
