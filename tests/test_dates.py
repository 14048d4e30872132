"""Dates at the edge of Python's range are refused with 422, never a 500 from date arithmetic
(rules add and subtract days and weeks): app.schemas.BusinessDate on every new date argument."""

from __future__ import annotations

import pytest

from tests.identity.helpers import assert_error

EDGE = ("0001-01-01", "9999-12-31")


@pytest.mark.parametrize("day", EDGE)
def test_extreme_dates_are_validation_errors(client, make, day):
    staff, admin = make.headers(make.user()), make.headers(make.user("admin"))
    calls = [
        (client.post, "/api/v1/canteen/bookings", staff, {"json": {"slot_id": 1, "day": day}}),
        (client.post, "/api/v1/canteen/bookings/week", staff, {"json": {"slot_id": 1, "days": [day]}}),
        (client.get, f"/api/v1/canteen/production?canteen_id=1&day={day}", admin, {}),
        (client.get, f"/api/v1/canteen/production.xlsx?canteen_id=1&from={day}&to={day}", admin, {}),
        (client.get, f"/api/v1/ratings?date_to={day}", admin, {}),
        (client.get, f"/api/v1/ratings/summary?date_from={day}&date_to={day}", admin, {}),
        (client.put, "/api/v1/canteen/diner-counts", admin, {"json": {"slot_id": 1, "day": day, "diners": 1}}),
    ]
    for method, url, headers, kw in calls:
        body = assert_error(method(url, headers=headers, **kw), 422, "VALIDATION_ERROR")
        assert "2000-01-01" in str(body["details"]), (url, body)
