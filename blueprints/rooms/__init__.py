"""Meeting-room booking (会议室预订).

rules.py holds the booking lifecycle, the time rules and `occupy` (the only way a booking
takes a room); each part brings its own service, schemas and blueprint (all under /rooms),
listed in `BLUEPRINTS` (registered by app/api.py under /api/v1):
- search: rooms, free-room search, a room's day view, utilisation (search.py, metrics.py);
- booking: book, edit, cancel, recurring series, approval, delegations, quotas (booking.py);
- loop: check-in by door code, finish early, auto-release, no-show suspensions, waitlist,
  reminders, iCalendar (loop.py, waitlist.py, ics.py);
- services: the property company's service tasks; administrators move or cancel any booking
  with a reason (services.py, adminops.py)."""

import blueprints.rooms.rules  # noqa: F401  (registers the room_booking lifecycle first)
from blueprints.rooms.routes_booking import blp as booking_blp
from blueprints.rooms.routes_loop import blp as loop_blp
from blueprints.rooms.routes_search import blp as search_blp
from blueprints.rooms.routes_services import blp as services_blp

BLUEPRINTS = [search_blp, booking_blp, loop_blp, services_blp]
