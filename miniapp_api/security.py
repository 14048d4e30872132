"""WeChat content security (内容安全) for text and images that other users will see.

    from miniapp_api import security
    security.check_text(principal.user_id, body["comment"], security.SCENE_COMMENT)
    security.check_image(principal.user_id, jpeg_bytes)

Each returns the verdict ("pass", "review": accepted but flagged for an administrator, or
"skipped": WeChat is not configured, development only) and raises AppError CONTENT_RISKY
(422) for content WeChat calls risky, CONTENT_CHECK_UNAVAILABLE (503) when the check
cannot be made (WeChat unreachable or failing, the user has no WeChat identity): content is
never shown unchecked (fail closed). Call it before storing anything, in the request that
submits the content; it makes an HTTP call to WeChat (WECHAT_TIMEOUT).

Text: `wxa/msg_sec_check` version 2, {"content", "version": 2, "scene", "openid"}. The
answer's `result.suggest` is "pass", "review" or "risky" (with `result.label`, e.g. 20001
politics... 21000 other); `trace_id` is logged. The openid is the user's WechatIdentity for
the configured WECHAT_APPID: WeChat wants a user who used the mini-program within the last
two hours (errcode 61010 otherwise, answered here as unavailable) — true of anyone
submitting from the mini-program. Text longer than WeChat's 2,500 characters is checked
in pieces; the worst verdict counts. Empty text needs no check ("pass").

Images: the synchronous `wxa/img_sec_check` (multipart field `media`, at most 750 x 1334
pixels and 1 MB; errcode 87014 = risky). Version 2 has no synchronous image check: its
only image check is `wxa/media_check_async`, which takes a `media_url` WeChat fetches from
the internet and pushes its verdict, up to 30 minutes later, to a message-push callback
URL. A government intranet deployment offers neither a public URL for photos nor an
inbound callback, and a photo would sit unchecked (or unshown) meanwhile; so images use
the synchronous check, sent the upload's thumbnail (blueprints/attachments/images.py
makes it fit WeChat's limits). It needs no openid, so `user_id` only goes to the log.

Without WECHAT_APPID the verdict is "skipped" (development and tests); a production app
without WeChat refuses instead (CONTENT_CHECK_UNAVAILABLE), never shows unchecked content.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from app.errors import AppError
from app.extensions import db
from miniapp_api import wechat
from models import WechatIdentity

log = logging.getLogger(__name__)

# msg_sec_check v2 scenes
SCENE_PROFILE, SCENE_COMMENT, SCENE_FORUM, SCENE_SOCIAL_LOG = 1, 2, 3, 4
SCENES = (SCENE_PROFILE, SCENE_COMMENT, SCENE_FORUM, SCENE_SOCIAL_LOG)
TEXT_MAX_CHARS = 2500  # msg_sec_check's limit per call
RISKY_ERRCODE = 87014  # img_sec_check (and msg_sec_check v1): risky content
_RANK = {"pass": 0, "review": 1, "risky": 2}


def _unavailable(reason: str, **details) -> AppError:
    return AppError("CONTENT_CHECK_UNAVAILABLE", details={"reason": reason, **details})


def _not_configured() -> str:
    """The verdict without WeChat: skipped in development and tests; production fails closed."""
    if current_app.config.get("APP_ENV") == "production":
        raise _unavailable("wechat_not_configured")
    return "skipped"


def _post(path: str, **kwargs) -> dict:
    """POST to WeChat through the shared client; errcode 87014 comes back as an answer
    ({"errcode": 87014}); every other failure becomes CONTENT_CHECK_UNAVAILABLE."""
    client = wechat.get_client()

    def send():
        try:
            return client.post(path, api_base_url=client.api_base, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode == RISKY_ERRCODE:
                return {"errcode": RISKY_ERRCODE, "errmsg": exc.errmsg}
            raise

    try:
        result = wechat.call(send)
    except AppError as exc:
        raise _unavailable(exc.code.lower(), **exc.details) from exc
    if not isinstance(result, dict):  # an HTML page from a gateway
        raise _unavailable("wx_busy")
    return result


def _openid(user_id: int) -> str | None:
    return db.session.execute(select(WechatIdentity.openid).where(
        WechatIdentity.user_id == user_id,
        WechatIdentity.appid == current_app.config["WECHAT_APPID"])).scalars().first()


def _check_text_piece(openid: str, text: str, scene: int) -> tuple[str, dict]:
    result = _post("wxa/msg_sec_check",
                   data={"content": text, "version": 2, "scene": scene, "openid": openid})
    if result.get("errcode") == RISKY_ERRCODE:
        return "risky", {}
    verdict = result.get("result") or {}
    suggest = verdict.get("suggest") if isinstance(verdict, dict) else None
    if suggest not in _RANK:
        log.warning("msg_sec_check answered without a verdict (trace_id %s)", result.get("trace_id"))
        raise _unavailable("wx_busy")
    return suggest, {"label": verdict.get("label"), "trace_id": result.get("trace_id")}


def check_text(user_id: int, text: str, scene: int = SCENE_COMMENT) -> str:
    """The verdict on `text` a user submits ("pass", "review", "skipped"); CONTENT_RISKY or
    CONTENT_CHECK_UNAVAILABLE otherwise."""
    if scene not in SCENES:
        raise ValueError(f"msg_sec_check scene must be one of {SCENES}")
    if not text or not text.strip():
        return "pass"
    if not wechat.wechat_configured():
        return _not_configured()
    openid = _openid(user_id)
    if openid is None:
        raise _unavailable("no_openid")
    worst, info = None, {}
    for start in range(0, len(text), TEXT_MAX_CHARS):
        suggest, details = _check_text_piece(openid, text[start:start + TEXT_MAX_CHARS], scene)
        if worst is None or _RANK[suggest] > _RANK[worst]:
            worst, info = suggest, details
        if worst == "risky":
            break
    log.info("text check for user %s: %s (label %s, trace_id %s)", user_id, worst, info.get("label"),
             info.get("trace_id"))
    if worst == "risky":
        raise AppError("CONTENT_RISKY", details={"kind": "text", "label": info.get("label"),
                                                 "trace_id": info.get("trace_id")})
    return worst


def check_image(user_id: int, data: bytes) -> str:
    """The verdict on an image a user submits ("pass", "skipped"); CONTENT_RISKY or
    CONTENT_CHECK_UNAVAILABLE otherwise. `data`: a JPEG/PNG of at most 750 x 1334 pixels and 1 MB."""
    if not wechat.wechat_configured():
        return _not_configured()
    result = _post("wxa/img_sec_check", files={"media": ("image.jpg", data, "image/jpeg")})
    errcode = result.get("errcode", 0)
    if errcode == RISKY_ERRCODE:
        log.info("image check for user %s: risky", user_id)
        raise AppError("CONTENT_RISKY", details={"kind": "image"})
    if errcode not in (0, None):
        raise _unavailable("wx_busy", errcode=errcode)
    log.info("image check for user %s: pass", user_id)
    return "pass"
