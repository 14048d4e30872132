"""Canteen HTTP routes (waste): placeholder, filled by the issue-5 work."""

from app.auth import ApiBlueprint

blp = ApiBlueprint("canteen_waste", __name__, url_prefix="/canteen", description="食堂（waste）")
