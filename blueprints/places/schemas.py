from urllib.parse import unquote

import marshmallow as ma
from marshmallow import validate

from app.schemas import LocalDateTime
from blueprints.places.calendar import DEFAULT_WORKDAY_NAME, MAX_YEAR, MIN_YEAR
from miniapp_api.codes import SCENE_CHARSET, SCENE_MAX_LENGTH
from models.calendar import CALENDAR_KINDS
from models.places import PLACE_KINDS

KIND_DOC = "building 楼宇 | floor 楼层 | room 房间 | area 区域"
_NOT_BLANK = validate.Regexp(r".*\S", error="不能为空白")


# --- places ------------------------------------------------------------------------------

class PlaceRefSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()


class PlaceSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": KIND_DOC})
    kind_label = ma.fields.Function(lambda p: PLACE_KINDS.get(p.kind), metadata={"description": "类型中文名"})
    name = ma.fields.String()
    code = ma.fields.String(allow_none=True, metadata={"description": "编码（可选，全局唯一）"})
    parent_id = ma.fields.Integer(allow_none=True)
    path = ma.fields.String(metadata={"description": "完整路径，如「1号楼 / 3层 / 301会议室」"})
    ancestors = ma.fields.Function(lambda p: PlaceRefSchema(many=True).dump(p.lineage()[:-1]),
                                   metadata={"description": "上级地点，自楼宇起"})
    sort_order = ma.fields.Integer()
    is_active = ma.fields.Boolean(metadata={"description": "false：已停用（仅管理员和审计员可见）"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class PlaceTreeSchema(PlaceSchema):
    children = ma.fields.List(ma.fields.Nested(lambda: PlaceTreeSchema()))


class PlaceBodySchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(list(PLACE_KINDS)),
                            metadata={"description": KIND_DOC})
    name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=100), _NOT_BLANK])
    code = ma.fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^[A-Za-z0-9_.\-]{0,32}$",
                                                     error="编码只能由字母、数字、点、下划线和连字符组成，最长 32 位"))
    parent_id = ma.fields.Integer(load_default=None, allow_none=True,
                                  metadata={"description": "楼宇为空；楼层填楼宇；房间、区域填楼层或楼宇"})
    sort_order = ma.fields.Integer(load_default=0, validate=validate.Range(min=-100000, max=100000))
    is_active = ma.fields.Boolean(load_default=True)


class PlaceListArgs(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf(list(PLACE_KINDS)), metadata={"description": KIND_DOC})
    parent_id = ma.fields.Integer(validate=validate.Range(min=1), metadata={"description": "只列出该地点的直接下级"})
    include_inactive = ma.fields.Boolean(load_default=False,
                                         metadata={"description": "包括已停用的地点（仅管理员和审计员）"})


class TreeArgs(ma.Schema):
    include_inactive = ma.fields.Boolean(load_default=False,
                                         metadata={"description": "包括已停用的地点（仅管理员和审计员）"})


# --- scenes ------------------------------------------------------------------------------

class SceneArgs(ma.Schema):
    scene = ma.fields.String(required=True, validate=[
        validate.Length(min=1, max=SCENE_MAX_LENGTH),
        validate.Regexp(SCENE_CHARSET + r"+\Z",
                        error="二维码参数只能包含字母、数字和 !#$&'()*+,/:;=?@-._~，最长 32 位")],
        metadata={"description": "扫码进入小程序时 options.scene 的值（已 decodeURIComponent 的或原样的均可）"})

    @ma.pre_load
    def decode(self, data, **kwargs):
        # '%' never occurs in a scene, so a value still percent-encoded (options.scene passed
        # on without decodeURIComponent) is decoded here, once.
        scene = data.get("scene")
        if isinstance(scene, str) and "%" in scene:
            return {**data, "scene": unquote(scene)}
        return data


class ResolvedSceneSchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={"description": "对象类型：place …（各业务模块注册）"})
    id = ma.fields.Integer(required=True)
    place = ma.fields.Nested(PlaceSchema, metadata={"description": "type 为 place 时：该地点（含路径）"})

    @ma.post_dump(pass_original=True)
    def keep_domain_payload(self, data, original, **kwargs):
        # Types registered later add their own key, already in JSON form.
        for key, value in original.items():
            data.setdefault(key, value)
        return data


# --- calendar ----------------------------------------------------------------------------

class HolidaySchema(ma.Schema):
    date = ma.fields.Date(required=True)
    name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=50), _NOT_BLANK],
                            metadata={"example": "国庆节"})


class MakeupWorkdaySchema(ma.Schema):
    date = ma.fields.Date(required=True, metadata={"description": "星期六或星期日"})
    name = ma.fields.String(load_default=DEFAULT_WORKDAY_NAME, validate=[validate.Length(min=1, max=50), _NOT_BLANK],
                            metadata={"example": "国庆节调休上班"})


class CalendarYearBodySchema(ma.Schema):
    holidays = ma.fields.List(ma.fields.Nested(HolidaySchema), required=True, validate=validate.Length(max=366),
                              metadata={"description": "放假的日期（含假期中的周末）"})
    workdays = ma.fields.List(ma.fields.Nested(MakeupWorkdaySchema), required=True,
                              validate=validate.Length(max=106),
                              metadata={"description": "调休上班的星期六、星期日"})


class CalendarYearSchema(CalendarYearBodySchema):
    year = ma.fields.Integer()


class CalendarDaysArgs(ma.Schema):
    first = ma.fields.Date(required=True, data_key="from", metadata={"description": "起始日期（含）"})
    last = ma.fields.Date(required=True, data_key="to", metadata={"description": "结束日期（含），最多 366 天"})

    @ma.validates_schema
    def range_ok(self, data, **kwargs):
        first, last = data.get("first"), data.get("last")
        for key, value in (("from", first), ("to", last)):
            if value and not MIN_YEAR <= value.year <= MAX_YEAR:
                raise ma.ValidationError(f"日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间", key)
        if first and last:
            if last < first:
                raise ma.ValidationError("结束日期不能早于起始日期", "to")
            if (last - first).days >= 366:
                raise ma.ValidationError("一次最多查询 366 天", "to")


class CalendarDaySchema(ma.Schema):
    date = ma.fields.Date()
    weekday = ma.fields.Integer(metadata={"description": "ISO 星期：1 星期一 … 7 星期日"})
    is_workday = ma.fields.Boolean(metadata={"description": "是否工作日"})
    exception = ma.fields.String(allow_none=True, validate=validate.OneOf(list(CALENDAR_KINDS)),
                                 metadata={"description": "holiday 节假日 | workday 调休上班 | null 按星期"})
    name = ma.fields.String(allow_none=True, metadata={"example": "国庆节"})
