"""道闸接口：车牌识别道闸上报出入事件并获得放行决定，同步白名单以便断网时自行决定。

Every request is signed by its gate (blueprints/parking/rules.py: X-Gate-Key,
X-Gate-Timestamp, X-Gate-Nonce, X-Gate-Signature over method, path with query string,
timestamp, nonce and the body's SHA-256). Gates are machines with their own keys: these
routes take no user token and are exempt from the per-address rate limit.
"""

from __future__ import annotations

from functools import wraps

from flask import g, request

from app.auth import ApiBlueprint
from app.errors import ErrorSchema
from app.extensions import db, limiter
from blueprints.parking import gate as gates
from blueprints.parking.rules import authenticate_gate
from blueprints.parking.schemas_gate import GateDecisionSchema, GateEventSchema, WhitelistArgs, WhitelistPageSchema

blp = ApiBlueprint("parking_gate", __name__, url_prefix="/parking/gate",
                   description="停车：道闸接口（HMAC 签名认证）")

_SIGNED = ("需道闸签名：请求头 X-Gate-Key、X-Gate-Timestamp（Unix 秒）、X-Gate-Nonce（16–64 位，不可重复）、"
           "X-Gate-Signature = hex(HMAC-SHA256(密钥, 方法\\n路径及查询串\\n时间戳\\nNonce\\nhex(SHA-256(请求体)))).")


def signed(view):
    """Authenticate the gate (401/409 in the error shape) and hand it to the view as g.gate."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        query = request.query_string.decode()
        g.gate = authenticate_gate(request.method, request.path + (f"?{query}" if query else ""),
                                   request.headers, request.get_data())
        return view(*args, **kwargs)

    wrapper = blp.doc(description=_SIGNED)(wrapper)
    wrapper = blp.alt_response(401, schema=ErrorSchema, description=(
        "道闸未登记或已停用 (PARKING_GATE_UNKNOWN)、签名无效 (PARKING_SIGNATURE_INVALID)、"
        "时间戳超出范围 (PARKING_TIMESTAMP_STALE)"))(wrapper)
    wrapper = blp.alt_response(409, schema=ErrorSchema, description="重复的请求 (PARKING_REPLAYED)")(wrapper)
    return limiter.exempt(wrapper)


@blp.post("/events")
@signed
@blp.arguments(GateEventSchema)
@blp.response(200, GateDecisionSchema)
@blp.alt_response(422, schema=ErrorSchema, description="车牌号格式不正确 (PARKING_PLATE_INVALID)、参数错误")
def event(body):
    """上报一次入场或出场：返回是否放行及原因（员工车辆、访客预约、预约车辆、未登记车辆……）

    同一事件编号重发返回当初的决定，不重复计数；断网期间缓存的事件可迟到、乱序补传（offline=true）。
    """
    recorded, created = gates.record_event(g.gate, body)
    db.session.commit()
    return {"event_id": recorded.event_id, "plate": recorded.plate, "direction": recorded.direction,
            "opened": recorded.opened, "reason": recorded.reason, "offline": recorded.offline,
            "replayed": not created, "occupancy": gates.occupancy(recorded.lot_id)}


@blp.get("/whitelist")
@signed
@blp.arguments(WhitelistArgs, location="query")
@blp.response(200, WhitelistPageSchema)
def whitelist(args):
    """白名单增量同步：返回版本号 since 之后本停车场（及全部停车场）的车牌变更，按版本顺序应用"""
    page = gates.whitelist_since(g.gate.lot_id, args["since"], args["limit"])
    db.session.commit()  # the nonce and last_seen_at
    return page
