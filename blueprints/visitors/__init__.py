"""Visitor appointments (访客预约).

rules.py holds the visit lifecycle, visibility, window rules and the visitor's pass;
personal.py the ID documents, phones, encryption, masks, consent, blacklist matching and
anonymisation. Each part brings its own service, schemas and blueprint (all under
/visitors), listed in `BLUEPRINTS` (registered by app/api.py under /api/v1):
- visits: invitations, requests, walk-ins, host decisions, recurring and group visits,
  cancellation, notices (visits.py);
- gate: passes, guard check-in and check-out, today's expected visitors and who is inside,
  overstays, reading a whole ID number (gate.py);
- privacy: consent, a visitor's own data (see, delete), the blacklist, retention (privacy.py)."""

import blueprints.visitors.personal  # noqa: F401  (registers the personal-data error codes)
import blueprints.visitors.rules  # noqa: F401  (registers the visit lifecycle first)
from blueprints.visitors.routes_gate import blp as gate_blp
from blueprints.visitors.routes_privacy import blp as privacy_blp
from blueprints.visitors.routes_visits import blp as visits_blp

BLUEPRINTS = [visits_blp, gate_blp, privacy_blp]
