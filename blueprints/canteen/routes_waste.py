"""Anti-waste routes (光盘行动): clean-plate check-ins and their review, actual diner counts,
waste weighings, metrics, the department ranking (红黑榜) and the quarterly report."""

from __future__ import annotations

from flask import Response

from app.auth import ApiBlueprint, current_principal
from app.errors import ErrorSchema
from app.extensions import db
from app.schemas import PageArgs, paginate
from blueprints.canteen import checkins, metrics, waste
from blueprints.canteen.schemas_waste import (
    CheckinBodySchema,
    CheckinPageSchema,
    CheckinSchema,
    DinerCountBodySchema,
    DinerCountListSchema,
    DinerCountSchema,
    MetricsSchema,
    QuarterlyArgs,
    RangeArgs,
    RankingArgs,
    RankingSchema,
    RejectBodySchema,
    ReviewArgs,
    ReviewCheckinPageSchema,
    ReviewCheckinSchema,
    WasteBodySchema,
    WasteCorrectBodySchema,
    WasteEntrySchema,
    WasteReportSchema,
)

blp = ApiBlueprint("canteen_waste", __name__, url_prefix="/canteen", description="食堂：光盘行动与反食品浪费")

_404 = {"schema": ErrorSchema, "description": "不存在或无权查看 (NOT_FOUND)"}
_RANGE = {"schema": ErrorSchema, "description": "日期范围不正确 (CANTEEN_RANGE_INVALID) 或数据不符合要求"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- check-ins ---------------------------------------------------------------------------

@blp.post("/checkins")
@blp.auth()
@blp.arguments(CheckinBodySchema)
@blp.response(201, CheckinSchema)
@blp.alt_response(404, schema=ErrorSchema, description="预订不存在或不是本人的 (NOT_FOUND)")
@blp.alt_response(409, schema=ErrorSchema, description=(
    "未取餐 (CANTEEN_CHECKIN_NOT_SERVED)、不是本食堂回盘处的码 (CANTEEN_CHECKIN_WRONG_STATION)、不在打卡时间内 "
    "(CANTEEN_CHECKIN_WINDOW_CLOSED)、已打卡 (CANTEEN_CHECKIN_EXISTS)、照片已用过 (CANTEEN_CHECKIN_PHOTO_REUSED)"))
@blp.alt_response(422, schema=ErrorSchema,
                  description="照片不是本人未提交的打卡照片 (ATTACHMENT_INVALID) 或数据不符合要求")
def create_checkin(body):
    """光盘打卡：扫回盘处小程序码，上传空盘照片

    已取餐的预订，在开餐至用餐结束后一段时间（按餐次设置）内可打卡，每餐一次；同一张照片（内容相同）
    不能重复使用。打卡即得积分（每日上限内）；部分打卡会被随机抽检，抽检未通过的撤销积分并通知原因。
    """
    checkin = checkins.check_in(current_principal(), body["booking_id"], body["scene"], body["attachment_id"])
    db.session.commit()
    return checkin


@blp.get("/checkins/mine")
@blp.auth()
@blp.arguments(PageArgs, location="query")
@blp.response(200, CheckinPageSchema)
def my_checkins(args):
    """我的光盘打卡（最新在前），含抽检结果和未通过的原因"""
    return paginate(checkins.mine_query(current_principal()), args["page"], args["per_page"])


@blp.get("/checkins/review")
@blp.auth()
@blp.arguments(ReviewArgs, location="query")
@blp.response(200, ReviewCheckinPageSchema)
@blp.alt_response(404, **_404)
def review_queue(args):
    """待抽检的光盘打卡（本食堂运营人员、管理员；审计员只读），先打卡的在前"""
    return paginate(checkins.review_query(current_principal(), args["canteen_id"]), args["page"], args["per_page"])


@blp.post("/checkins/<int:checkin_id>/approve")
@blp.auth()
@blp.response(200, ReviewCheckinSchema)
@blp.alt_response(403, schema=ErrorSchema, description="不是该食堂的运营人员或管理员 (FORBIDDEN)")
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="不在待抽检状态，可能已被他人处理 (CANTEEN_CHECKIN_NOT_PENDING)")
def approve_checkin(checkin_id):
    """抽检通过"""
    checkin = checkins.approve(current_principal(), checkin_id)
    db.session.commit()
    return checkin


@blp.post("/checkins/<int:checkin_id>/reject")
@blp.auth()
@blp.arguments(RejectBodySchema)
@blp.response(200, ReviewCheckinSchema)
@blp.alt_response(403, schema=ErrorSchema, description="不是该食堂的运营人员或管理员 (FORBIDDEN)")
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description="不在待抽检状态，可能已被他人处理 (CANTEEN_CHECKIN_NOT_PENDING)")
def reject_checkin(body, checkin_id):
    """抽检未通过：撤销该次打卡的积分，并把原因通知打卡人

    打卡人已把这些积分用掉时无法撤销（余额不能为负），抽检结果仍记为未通过，points_reversed 为 false。
    """
    checkin = checkins.reject(current_principal(), checkin_id, body["reason"])
    db.session.commit()
    return checkin


# --- diner counts --------------------------------------------------------------------------

@blp.put("/diner-counts")
@blp.auth()
@blp.arguments(DinerCountBodySchema)
@blp.response(200, DinerCountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="餐次不存在或不是本食堂的 (NOT_FOUND)")
@blp.alt_response(422, schema=ErrorSchema, description="日期在今天之后 (CANTEEN_DAY_IN_FUTURE) 或数据不符合要求")
def put_diner_count(body):
    """填报某餐次某天的实际就餐人数（含未预订的；再次填报覆盖，留有审计记录）"""
    row = waste.set_diner_count(current_principal(), body["slot_id"], body["day"], body["diners"])
    db.session.commit()
    return row


@blp.get("/diner-counts")
@blp.auth()
@blp.arguments(RangeArgs, location="query")
@blp.response(200, DinerCountListSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_RANGE)
def list_diner_counts(args):
    """某食堂一段时间的实际就餐人数（运营人员、管理员、审计员）"""
    stmt = waste.diner_counts_query(current_principal(), args["canteen_id"], args["from_"], args["to"])
    return {"items": db.session.execute(stmt).scalars().all()}


# --- waste weighings -----------------------------------------------------------------------

@blp.post("/waste")
@blp.auth()
@blp.arguments(WasteBodySchema)
@blp.response(201, WasteEntrySchema)
@blp.alt_response(404, schema=ErrorSchema, description="餐次不存在或不是本食堂的 (NOT_FOUND)")
@blp.alt_response(422, schema=ErrorSchema, description=(
    "日期在今天之后 (CANTEEN_DAY_IN_FUTURE)、照片不是本人上传的称重照片 (ATTACHMENT_INVALID) 或数据不符合要求"))
def add_waste(body):
    """登记浪费称重（备餐损耗、剩余饭菜、餐盘剩余）

    记录只增不改：填错了用“更正”追加一条新记录，原记录保留。
    """
    entry = waste.add_waste(current_principal(), body["slot_id"], body["day"], body["stage"], body["kg"],
                            body["note"], photo_id=body["photo_id"])
    db.session.commit()
    return entry


@blp.post("/waste/<int:entry_id>/correct")
@blp.auth()
@blp.arguments(WasteCorrectBodySchema)
@blp.response(201, WasteEntrySchema)
@blp.alt_response(404, **_404)
@blp.alt_response(409, schema=ErrorSchema, description=(
    "该记录已被更正过 (CANTEEN_WASTE_ALREADY_CORRECTED，details.newer_id 为更新的记录)"))
def correct_waste(body, entry_id):
    """更正一条称重记录：追加一条新记录（原记录保留，以最新的为准）"""
    entry = waste.correct_waste(current_principal(), entry_id, body["kg"], body["note"])
    db.session.commit()
    return entry


@blp.get("/waste")
@blp.auth()
@blp.arguments(RangeArgs, location="query")
@blp.response(200, WasteReportSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_RANGE)
def list_waste(args):
    """某食堂一段时间的浪费称重：有效数据（每条更正链的最新记录）和全部历史"""
    return waste.waste_report(current_principal(), args["canteen_id"], args["from_"], args["to"])


# --- metrics, ranking, report --------------------------------------------------------------

@blp.get("/metrics")
@blp.auth()
@blp.arguments(RangeArgs, location="query")
@blp.response(200, MetricsSchema)
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_RANGE)
def get_metrics(args):
    """反食品浪费指标（管理员、审计员、本食堂运营人员），分餐次及合计

    预订、取餐、未取餐及未取餐率，实际就餐人数（未填报的餐次按已取餐数计），各环节浪费千克数，
    每份已取餐及人均浪费克数，光盘打卡率（不含抽检未通过的）。
    """
    return metrics.metrics(current_principal(), args["canteen_id"], args["from_"], args["to"])


@blp.get("/rankings")
@blp.auth()
@blp.arguments(RankingArgs, location="query")
@blp.response(200, RankingSchema)
@blp.alt_response(403, schema=ErrorSchema, description="访客不能查看 (FORBIDDEN)")
@blp.alt_response(404, **_404)
@blp.alt_response(422, **_RANGE)
def get_rankings(args):
    """部门红黑榜：按未取餐率、光盘打卡率排出最好和最差的部门（公开，只有部门名称）

    只有期间内已取餐不少于 min_served 份的部门参与排名；一个部门只会出现在红榜或黑榜之一。
    """
    return metrics.rankings(current_principal(), args["from_"], args["to"], args["canteen_id"],
                            args["min_served"], args["top"])


@blp.get("/reports/quarterly.xlsx")
@blp.auth()
@blp.arguments(QuarterlyArgs, location="query")
@blp.alt_response(200, description="季度评估报表（XLSX：汇总、浪费称重、部门排名）",
                  content_type=XLSX, success=True)
@blp.alt_response(404, **_404)
def quarterly_report(args):
    """食堂季度反食品浪费评估报表（管理员、审计员、该食堂的运营单位负责人）"""
    data, filename = metrics.quarterly_report(current_principal(), args["canteen_id"], args["year"],
                                              args["quarter"])
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
