"""WeChat content security (内容安全) for text and images that other users will see.

    from miniapp_api import security
    security.check_text(principal.user_id, body["comment"], security.SCENE_COMMENT)
    security.check_image(principal.user_id, jpeg_bytes)

Each returns the verdict ("pass", "review": accepted but flagged for an administrator, or
"skipped": WeChat is not configured, development only) and raises AppError CONTENT_RISKY
(422) for content WeChat calls risky, CONTENT_CHECK_UNAVAILABLE (503) when the check
cannot be made (WeChat unreachable, the user has no WeChat identity): content is never
shown unchecked.
"""

from __future__ import annotations

# msg_sec_check v2 scenes
SCENE_PROFILE, SCENE_COMMENT, SCENE_FORUM, SCENE_SOCIAL_LOG = 1, 2, 3, 4


def check_text(user_id: int, text: str, scene: int = SCENE_COMMENT) -> str:
    raise NotImplementedError  # implemented with the attachments work (issue 4)


def check_image(user_id: int, data: bytes) -> str:
    raise NotImplementedError
