"""What the live-server tests serve with gunicorn: the app plus the test-only blueprint
(`gunicorn tests.platform.liveapp:app`, settings from the environment)."""

from app import create_app
from tests.platform.orders import register

app = create_app()
register(app)
