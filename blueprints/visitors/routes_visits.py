"""访客预约（邀请、申请、现场登记、审批）."""

from __future__ import annotations

from app.auth import ApiBlueprint

blp = ApiBlueprint("visitors_visits", __name__, url_prefix="/visitors",
                   description="访客预约（邀请、申请、现场登记、审批）")
