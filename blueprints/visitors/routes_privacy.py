"""访客个人信息（隐私告知同意、本人数据、黑名单）."""

from __future__ import annotations

from app.auth import ApiBlueprint

blp = ApiBlueprint("visitors_privacy", __name__, url_prefix="/visitors",
                   description="访客个人信息（隐私告知同意、本人数据、黑名单）")
