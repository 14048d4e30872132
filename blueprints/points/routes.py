"""积分: placeholder, filled by the issue-4 work."""

from app.auth import ApiBlueprint

blp = ApiBlueprint("points", __name__, url_prefix="", description="积分")
