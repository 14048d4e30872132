"""Plate formats: each kind's shapes, normal form, and refusals."""

from __future__ import annotations

import pytest

from app.errors import AppError
from blueprints.parking.plates import normalise_plate


@pytest.mark.parametrize(("raw", "plate", "kind"), [
    ("京A12345", "京A12345", "ordinary"),
    ("京a·123 45", "京A12345", "ordinary"),
    ("沪B8H9K2", "沪B8H9K2", "ordinary"),
    ("京A1234学", "京A1234学", "ordinary"),
    ("冀B1234挂", "冀B1234挂", "ordinary"),
    ("京AD12345", "京AD12345", "new_energy"),
    ("粤BDA1234", "粤BDA1234", "new_energy"),
    ("京A12345D", "京A12345D", "new_energy"),
    ("京A1234警", "京A1234警", "police"),
    ("WJ京12345", "WJ京12345", "armed_police"),
    ("wj1234x", "WJ1234X", "armed_police"),
    ("VA12345", "VA12345", "military"),
    ("使014578", "使014578", "embassy"),
    ("224001使", "224001使", "embassy"),
    ("沪A1234领", "沪A1234领", "consulate"),
    ("粤Z1234港", "粤Z1234港", "hk_macao"),
    ("粤Z12A4澳", "粤Z12A4澳", "hk_macao"),
])
def test_kinds(app, raw, plate, kind):
    assert normalise_plate(raw) == (plate, kind)


@pytest.mark.parametrize("raw", [
    "", None, "A12345", "京12345", "京A1234", "京A123456", "京A1234O", "京I12345", "台A12345", "京A1234港",
    "粤BF1A234", "京AD12345X", "WJ京1234", "VA1234", "使01457", "京A12345678", "京A12345\x00",
])
def test_refusals(app, raw):
    with pytest.raises(AppError) as err:
        normalise_plate(raw, field="vehicles[0].plate")
    assert err.value.code == "PARKING_PLATE_INVALID" and err.value.details == {"field": "vehicles[0].plate"}
