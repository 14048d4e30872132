"""访客通行（通行证、入场离场、在访名单）."""

from __future__ import annotations

from app.auth import ApiBlueprint

blp = ApiBlueprint("visitors_gate", __name__, url_prefix="/visitors",
                   description="访客通行（通行证、入场离场、在访名单）")
