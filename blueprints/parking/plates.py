"""Chinese vehicle plates (GA 36-2018 and the special series): one normal form per plate,
its kind, or 422 PARKING_PLATE_INVALID.

`normalise_plate(raw)` upper-cases, drops spaces, dots, middle dots and hyphens
("京A·12345" → "京A12345") and recognises:

| kind | example | shape |
| --- | --- | --- |
| ordinary | 京A12345, 京A1234学, 京A1234挂 | province, issuing-office letter, 5 letters/digits (or 4 + 学/挂) |
| new_energy | 京AD12345, 京A12345F | province, letter, 6: D/F first (small cars) or last (large) |
| police | 京A1234警 | province, letter, 4, 警 |
| armed_police | WJ京12345, WJ1234X | WJ, optional province, 5 (or 4 + letter) |
| military | VA12345 | two letters (the first a service or region code), 5 digits |
| embassy | 使014578, 224001使 | 使 + 6 digits, or 6 digits + 使 |
| consulate | 沪A1234领 | province, letter, 4, 领 |
| hk_macao | 粤Z1234港, 粤Z1234澳 | 粤Z, 4, 港 or 澳 (cross-border) |

Letters I and O never appear in the serial (they read as 1 and 0), so "京A1234O" is refused.
"""

from __future__ import annotations

import re

from app.errors import AppError, register_codes

register_codes({
    "PARKING_PLATE_INVALID": (422, "车牌号格式不正确", "Parking: not a Chinese plate of a known kind "
                                                 "(`details.field`)."),
})

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_KINDS: dict[str, str] = {
    "ordinary": "普通车牌", "new_energy": "新能源车牌", "police": "警用车牌", "armed_police": "武警车牌",
    "military": "军用车牌", "embassy": "使馆车牌", "consulate": "领馆车牌", "hk_macao": "粤港澳跨境车牌"}

_P = f"[{PROVINCES}]"
_L = "[A-HJ-NP-Z]"           # an issuing office: a letter but I and O
_S = "[A-HJ-NP-Z0-9]"        # a serial character
_SHAPES: list[tuple[str, re.Pattern]] = [
    ("new_energy", re.compile(f"{_P}{_L}(?:[DF]{_S}\\d{{4}}|\\d{{5}}[DF])")),
    ("hk_macao", re.compile(f"粤Z{_S}{{4}}[港澳]")),
    ("police", re.compile(f"{_P}{_L}{_S}{{4}}警")),
    ("consulate", re.compile(f"{_P}{_L}{_S}{{4}}领")),
    ("ordinary", re.compile(f"{_P}{_L}(?:{_S}{{5}}|{_S}{{4}}[学挂])")),
    ("armed_police", re.compile(f"WJ(?:{_P}{_S}{{5}}|\\d{{4}}{_S})")),
    ("military", re.compile("[VKHBSLJNGCEZ][A-HJ-NP-Z]\\d{5}")),
    ("embassy", re.compile("使\\d{6}|\\d{6}使")),
]
_NOISE = re.compile(r"[\s·.\-_•]+")
MAX_LENGTH = 9


def normalise_plate(raw: str | None, field: str = "plate") -> tuple[str, str]:
    """(plate, kind) in normal form, or 422 PARKING_PLATE_INVALID."""
    plate = _NOISE.sub("", raw or "").upper()
    if len(plate) <= MAX_LENGTH:
        for kind, shape in _SHAPES:
            if shape.fullmatch(plate):
                return plate, kind
    raise AppError("PARKING_PLATE_INVALID", details={"field": field})
