"""Users, roles, departments, contractor companies and their invitations, roster import."""

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import Schema
from sqlalchemy import select

from app.auth import ApiBlueprint, current_principal, ensure_visible
from app.errors import AppError, ErrorSchema
from app.extensions import db, limiter
from app.schemas import paginate
from blueprints.auth.schemas import TokenSchema
from blueprints.identity import roster, service
from blueprints.identity.schemas import (
    CompanySchema,
    DepartmentSchema,
    DisableBodySchema,
    InviteCreatedSchema,
    InviteCreateSchema,
    InviteRedeemSchema,
    InviteSchema,
    RolesBodySchema,
    RosterArgs,
    RosterReportSchema,
    UserListArgs,
    UserPageSchema,
    UserSchema,
)
from models import Department

blp = ApiBlueprint("identity", __name__, url_prefix="", description="人员、角色、部门、服务单位与邀请码")

MANAGERS = ("admin", "auditor", "canteen_manager", "property_dispatcher")


@blp.get("/users")
@blp.auth(*MANAGERS)
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPageSchema)
def list_users(args):
    """人员列表（管理员全部；服务单位负责人仅本单位人员）"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(service.user_query(current_principal(), **args), page, per_page)


@blp.get("/users/<int:user_id>")
@blp.auth()
@blp.response(200, UserSchema)
def get_user(user_id):
    """查看人员（本人、本单位负责人或管理员）"""
    return service.get_user(current_principal(), user_id)


@blp.put("/users/<int:user_id>/roles")
@blp.auth("admin")
@blp.arguments(RolesBodySchema)
@blp.response(200, UserSchema)
def put_roles(body, user_id):
    """设置人员角色（管理员）；原令牌立即失效"""
    principal = current_principal()
    user = service.get_user(principal, user_id)
    service.set_roles(principal, user, body["roles"])
    db.session.commit()
    return user


@blp.post("/users/<int:user_id>/disable")
@blp.auth("admin", "canteen_manager", "property_dispatcher")
@blp.arguments(DisableBodySchema)
@blp.response(200, UserSchema)
def disable_user(body, user_id):
    """停用人员（管理员；服务单位负责人可停用本单位员工）；令牌立即失效"""
    principal = current_principal()
    user = service.get_user(principal, user_id)
    if not service.can_disable(principal, user):
        raise AppError("FORBIDDEN")
    service.disable_user(principal, user, body["reason"])
    db.session.commit()
    return user


class RosterFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV（UTF-8 或 GBK）或 XLSX，列：工号、姓名、部门、手机号"})


@blp.post("/users/roster-import")
@blp.auth("admin")
@blp.arguments(RosterArgs, location="query")
@blp.arguments(RosterFileSchema, location="files")
@blp.response(200, RosterReportSchema)
@blp.alt_response(409, schema=ErrorSchema, description="导入期间人员被其他操作修改，请重试 (CONFLICT)")
@blp.alt_response(413, schema=ErrorSchema, description="文件超过 20 MB (PAYLOAD_TOO_LARGE)")
def import_roster(args, files):
    """导入花名册（管理员）：按工号新增或更新；有任何错误行则整份不导入（ROSTER_INVALID，
    details.rows 逐行列出）；文件无法读取为 ROSTER_FILE_UNREADABLE；默认停用名单外的在册人员"""
    upload = files["file"]
    rows = roster.read_rows(upload.read(roster.MAX_BYTES + 1), upload.filename or "")
    report = roster.import_rows(current_principal(), rows, disable_missing=args["disable_missing"],
                                dry_run=args["dry_run"])
    return report


# --- departments -------------------------------------------------------------------------

@blp.get("/departments")
@blp.auth()
@blp.response(200, DepartmentSchema(many=True))
def list_departments():
    """部门列表（树形，按 parent_id 组织）"""
    return db.session.execute(select(Department).order_by(Department.sort_order, Department.id)).scalars()


@blp.get("/departments/<int:department_id>")
@blp.auth("staff", "admin", "auditor")
@blp.response(200, DepartmentSchema)
def get_department(department_id):
    """查看部门"""
    department = db.session.get(Department, department_id)
    ensure_visible(department is not None)
    return department


@blp.post("/departments")
@blp.auth("admin")
@blp.arguments(DepartmentSchema)
@blp.response(201, DepartmentSchema)
@blp.alt_response(409, schema=ErrorSchema, description="部门编码已存在 (CONFLICT)")
def create_department(body):
    """新建部门（管理员）"""
    department = service.create_department(current_principal(), body)
    db.session.commit()
    return department


@blp.put("/departments/<int:department_id>")
@blp.auth("admin")
@blp.arguments(DepartmentSchema)
@blp.response(200, DepartmentSchema)
@blp.alt_response(409, schema=ErrorSchema, description="部门编码已存在 (CONFLICT)")
def update_department(body, department_id):
    """修改部门（管理员）；上级部门不能是自己或自己的下级 (DEPARTMENT_CYCLE)"""
    department = db.session.get(Department, department_id)
    ensure_visible(department is not None)
    service.update_department(current_principal(), department, body)
    db.session.commit()
    return department


# --- companies and invites ---------------------------------------------------------------

@blp.get("/companies")
@blp.auth()
@blp.response(200, CompanySchema(many=True))
def list_companies():
    """服务单位列表（管理员全部；服务单位人员仅本单位）"""
    return service.list_companies(current_principal())


@blp.get("/companies/<int:company_id>")
@blp.auth()
@blp.response(200, CompanySchema)
def get_company(company_id):
    """查看服务单位（管理员或本单位人员）"""
    return service.get_company(current_principal(), company_id)


@blp.post("/companies")
@blp.auth("admin")
@blp.arguments(CompanySchema)
@blp.response(201, CompanySchema)
@blp.alt_response(409, schema=ErrorSchema, description="名称已存在 (CONFLICT)")
def create_company(body):
    """新建服务单位（管理员）"""
    company = service.create_company(current_principal(), body)
    db.session.commit()
    return company


@blp.get("/companies/<int:company_id>/invites")
@blp.auth("admin", "canteen_manager", "property_dispatcher")
@blp.response(200, InviteSchema(many=True))
def list_invites(company_id):
    """本单位邀请码（不含邀请码本身）"""
    return service.list_invites(service.get_managed_company(current_principal(), company_id))


@blp.post("/companies/<int:company_id>/invites")
@blp.auth("admin", "canteen_manager", "property_dispatcher")
@blp.arguments(InviteCreateSchema)
@blp.response(201, InviteCreatedSchema)
def create_invite(body, company_id):
    """生成一次性邀请码，交给本单位新员工在小程序中使用"""
    principal = current_principal()
    company = service.get_managed_company(principal, company_id)
    code, invite = service.create_invite(principal, company, body["role"], body["note"],
                                         current_app.config["INVITE_TTL"])
    db.session.commit()
    return {**{name: getattr(invite, name) for name in InviteSchema().fields}, "code": code}


@blp.post("/invites/redeem")
@blp.auth()
@limiter.limit(lambda: current_app.config["RATELIMIT_BIND"])
@blp.arguments(InviteRedeemSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(404, schema=ErrorSchema, description="邀请码无效、已使用或已过期 (INVITE_INVALID)")
@blp.alt_response(409, schema=ErrorSchema, description="当前账号已是机关人员或服务单位人员 (WX_ALREADY_BOUND)")
def redeem_invite(body):
    """使用邀请码加入服务单位（微信登录后、尚未绑定身份的访客）；返回新令牌，原令牌失效"""
    payload = service.redeem_invite(current_principal(), body["code"], body["name"], body["phone"])
    db.session.commit()
    return payload
