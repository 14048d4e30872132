"""Admin panel (Flask-Admin) at /admin: its own sign-in (employee number + password), Chinese
UI, administrators' data views, the read-only auditor, and contractor managers' consoles.

Layout: setup.py builds the panel for an app; security.py is sign-in, lockout and the
session checks; forms.py the forms (all with CSRF); views/ the views; templates/admin_panel
the pages Flask-Admin does not provide; translations/ fills gaps in Flask-Admin's zh_Hans_CN
catalog."""

from flask import Flask


def init_admin(app: Flask) -> None:
    from admin.setup import setup_admin

    setup_admin(app)
