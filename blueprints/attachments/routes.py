"""照片与附件: placeholder, filled by the issue-4 work."""

from app.auth import ApiBlueprint

blp = ApiBlueprint("attachments", __name__, url_prefix="", description="照片与附件")
