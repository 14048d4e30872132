"""Logging that never writes a phone number, a resident ID number or a WeChat session key."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# An 18-character resident ID number (GB 11643), masked as in responses: 110***********1234.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")
_SECRET = re.compile(r"(session_key|secret|access_token|password)(['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+",
                     re.IGNORECASE)


def redact(text: str) -> str:
    text = _RESIDENT_ID.sub(r"\1***********\2", text)
    text = _PHONE.sub(r"\1****\2", text)
    return _SECRET.sub(r"\1\2***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # Outgoing WeChat URLs carry secrets in their query strings.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
