"""Placeholder: replaced by the real panel."""

from flask import Flask


def setup_admin(app: Flask) -> None:
    return None
