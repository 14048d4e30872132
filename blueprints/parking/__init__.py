"""Parking (停车): lots, staff vehicles, reservations with fair draws, visitor parking tied to
visits, the signed gate API, occupancy. rules.py holds the reservation lifecycle, the draw
and the gate authentication; plates.py the plate formats. The HTTP parts add their
blueprints to `BLUEPRINTS` (registered by app/api.py under /api/v1) as they are built."""

import blueprints.parking.plates  # noqa: F401  (registers the plate error code)
import blueprints.parking.rules  # noqa: F401  (registers the reservation lifecycle and gate codes)
import blueprints.parking.visitor_parking  # noqa: F401  (holds and frees visitor spaces with visits)
from blueprints.parking.routes_gate import blp as gate_blp
from blueprints.parking.routes_lots import blp as lots_blp
from blueprints.parking.routes_reservations import blp as reservations_blp
from blueprints.parking.routes_vehicles import blp as vehicles_blp

BLUEPRINTS = [lots_blp, vehicles_blp, reservations_blp, gate_blp]
