"""Admin panel (Flask-Admin) at /admin."""

from flask import Flask


def init_admin(app: Flask) -> None:
    from admin.setup import setup_admin

    setup_admin(app)
