"""服务评价与整改回访: placeholder, filled by the issue-4 work."""

from app.auth import ApiBlueprint

blp = ApiBlueprint("ratings", __name__, url_prefix="", description="服务评价与整改回访")
