"""Mini-program codes for fixed places (a room door, a canteen counter, a tray-return
station) and the scenes they carry.

Scenes. WeChat hands the mini-program the code's `scene` (at most 32 characters of
[0-9A-Za-z!#$&'()*+,/:;=?@-._~]). Ours are `<prefix>=<id>`: a short lowercase type prefix
registered by the domain that owns the object, and the object's id, e.g. `p=12` is place 12.
A domain registers its prefix once, at import time:

    register_scene_type("p", "place", resolve_place)   # resolver(principal, id) -> dict | None

`resolve_scene(principal, scene)` answers {"type": "place", "id": 12, **what the resolver
returned}; an unknown prefix, a malformed scene or an object the resolver does not give
(missing, retired, not visible) is SCENE_NOT_FOUND.

Codes. `wxa_code_png(scene)` asks WeChat's getwxacodeunlimit (through wechatpy and
`miniapp_api.wechat.call`, so every failure is a 4xx/503) and keeps the PNG in PostgreSQL
(`models.places.WxaCode`): a code never expires and depends only on the mini-program, the
scene, the page and the width, so WeChat is asked once per code, whichever process serves
the next request and whether or not Redis is up. WeChat answers a JPEG (Content-Type
image/jpeg) unless the background is transparent; it is converted to PNG once, here.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.auth import Principal
from app.errors import AppError, register_codes
from app.extensions import MAX_ID, db
from miniapp_api.wechat import call, get_client, wechat_configured
from models.places import WxaCode

log = logging.getLogger(__name__)

register_codes({
    "SCENE_NOT_FOUND": (404, "二维码无效，或对应的对象已不存在或已停用",
                        "Scene resolve: a malformed scene, an unknown type prefix, or an object that is "
                        "missing, retired or not visible to the caller."),
    "WXA_CODE_PAGE_INVALID": (503, "小程序码页面配置有误，或小程序尚未发布",
                              "WeChat refused the code's page (41030): WXA_SCENE_PAGE names no page of the "
                              "published mini-program."),
})

SCENE_MAX_LENGTH = 32
SCENE_CHARSET = r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]"
SCENE_CHARS_RE = re.compile(SCENE_CHARSET + r"{1,32}")
_SCENE_RE = re.compile(r"([a-z]{1,4})=([1-9][0-9]{0,9})")
_PREFIX_RE = re.compile(r"[a-z]{1,4}")

PAGE_CONFIG_KEY = "WXA_SCENE_PAGE"
DEFAULT_PAGE = "pages/scan/index"
WIDTH_CONFIG_KEY = "WXA_CODE_WIDTH"
DEFAULT_WIDTH = 430

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

Resolver = Callable[[Principal, int], "dict[str, Any] | None"]


@dataclass(frozen=True)
class SceneType:
    prefix: str
    type: str
    resolve: Resolver


_BY_PREFIX: dict[str, SceneType] = {}
_BY_TYPE: dict[str, SceneType] = {}


def register_scene_type(prefix: str, type_name: str, resolver: Resolver) -> SceneType:
    """Register a domain's scene type. The prefix (1–4 lowercase letters) and the type name
    belong to one domain for good: codes already printed carry them."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"scene prefix {prefix!r} must be 1-4 lowercase letters")
    entry = SceneType(prefix, type_name, resolver)
    for registry, key in ((_BY_PREFIX, prefix), (_BY_TYPE, type_name)):
        known = registry.get(key)
        if known is not None and (known.prefix, known.type) != (prefix, type_name):
            raise ValueError(f"scene {key!r} is already registered as {known.prefix}={known.type}")
    _BY_PREFIX[prefix] = _BY_TYPE[type_name] = entry
    return entry


def scene_types() -> dict[str, str]:
    """prefix → type name, for documentation and tests."""
    return {prefix: entry.type for prefix, entry in sorted(_BY_PREFIX.items())}


def is_valid_scene(scene: str) -> bool:
    """Would WeChat accept this scene (length and characters)?"""
    return isinstance(scene, str) and bool(SCENE_CHARS_RE.fullmatch(scene))


def make_scene(type_name: str, object_id: int) -> str:
    entry = _BY_TYPE.get(type_name)
    if entry is None:
        raise KeyError(f"no scene type {type_name!r} is registered")
    if isinstance(object_id, bool) or not isinstance(object_id, int) or not 0 < object_id <= MAX_ID:
        raise ValueError(f"scene id must be a positive integer, not {object_id!r}")
    return f"{entry.prefix}={object_id}"


def parse_scene(scene: str) -> tuple[SceneType, int]:
    """(type, id) of a scene of ours; SCENE_NOT_FOUND for anything else."""
    match = _SCENE_RE.fullmatch(scene or "")
    if match is None or match.group(1) not in _BY_PREFIX or int(match.group(2)) > MAX_ID:
        raise AppError("SCENE_NOT_FOUND")
    return _BY_PREFIX[match.group(1)], int(match.group(2))


def resolve_scene(principal: Principal, scene: str) -> dict[str, Any]:
    """{"type", "id", **the resolver's payload}; SCENE_NOT_FOUND when nothing answers."""
    entry, object_id = parse_scene(scene)
    payload = entry.resolve(principal, object_id)
    if payload is None:
        raise AppError("SCENE_NOT_FOUND")
    return {"type": entry.type, "id": object_id, **payload}


# --- mini-program codes --------------------------------------------------------------------

def _as_png(content: bytes) -> bytes:
    """WeChat's image as PNG; ValueError (→ WX_BUSY) when the answer is not an image."""
    if content.startswith(PNG_MAGIC):
        return content
    if not content.startswith(JPEG_MAGIC):
        raise ValueError("getwxacodeunlimit answered neither JSON nor an image")
    try:
        with Image.open(io.BytesIO(content)) as image:
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError("getwxacodeunlimit answered a broken image") from exc
    return out.getvalue()


def _fetch(scene: str, page: str, width: int) -> bytes:
    result = get_client().wxa.get_wxa_code_unlimited(scene, width=width, page=page or None)
    # wechatpy raises on a JSON answer with a non-zero errcode, returns any other JSON as a
    # dict (no image in it), and hands back the raw requests.Response when it is not JSON.
    if isinstance(result, dict) or not hasattr(result, "content"):
        raise ValueError("getwxacodeunlimit answered without an image")
    return _as_png(result.content)


def wxa_code_png(scene: str, page: str | None = None, width: int | None = None) -> bytes:
    """The mini-program code (PNG) that opens `page` (default: config WXA_SCENE_PAGE, the
    mini-program's scan landing page) with `scene`. Fetched from WeChat once, then served
    from PostgreSQL. WX_NOT_CONFIGURED without WeChat; WX_* (4xx/503) when WeChat fails."""
    if not is_valid_scene(scene):
        raise ValueError(f"invalid scene {scene!r}")
    if not wechat_configured():
        raise AppError("WX_NOT_CONFIGURED")
    config = current_app.config
    appid = config["WECHAT_APPID"]
    page = config.get(PAGE_CONFIG_KEY, DEFAULT_PAGE) if page is None else page
    width = int(width or config.get(WIDTH_CONFIG_KEY) or DEFAULT_WIDTH)
    key = {"appid": appid, "scene": scene, "page": page or "", "width": width}

    cached = db.session.execute(select(WxaCode.png).filter_by(**key)).scalar_one_or_none()
    if cached is not None:
        return cached
    try:
        png = call(_fetch, scene, page, width)
    except AppError as exc:
        if isinstance(exc.details, dict) and exc.details.get("errcode") == 41030:  # no such page
            raise AppError("WXA_CODE_PAGE_INVALID", details={"errcode": 41030, "page": page}) from exc
        raise
    # Two requests at once both ask WeChat (the same image); the first row stays.
    db.session.execute(insert(WxaCode).values(**key, png=png).on_conflict_do_nothing())
    log.info("mini-program code fetched for scene %s", scene)
    return png
