"""Places: the tree (building → floor → room or area), who sees what, the rules for changing
it, and the place scenes of mini-program codes (`p=<id>`).

Everyone signed in sees the active places (a place counts as active only when its building
and floor are too); administrators and auditors also see retired ones. Only administrators
change the tree, and every change is audited. Plain functions, no `request`: the routes, the
admin panel and the demo data call these."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import Principal, ensure_visible
from app.errors import AppError, register_codes
from app.extensions import MAX_ID, db, violated_constraint
from miniapp_api import codes
from models.places import PLACE_KINDS, PLACE_PARENT_KINDS, Place

register_codes({
    "PLACE_PARENT_INVALID": (422, "上级地点不符合层级要求：楼宇没有上级，楼层属于楼宇，房间和区域属于楼层或楼宇",
                             "Places: the parent is missing or of a kind this place cannot sit under "
                             "(`details.allowed_parent_kinds`)."),
    "PLACE_HAS_CHILDREN": (409, "该地点下还有下级地点，不能改为此类型",
                           "Places: the new kind cannot hold the place's existing children (e.g. a floor "
                           "with rooms turned into a room)."),
})

SCENE_TYPE = "place"
SCENE_PREFIX = "p"


# --- reading -----------------------------------------------------------------------------

def find(place_id: int) -> Place | None:
    """The place with this id, or None (also for ids no PostgreSQL integer can hold)."""
    if not 0 < place_id <= MAX_ID:
        return None
    return db.session.get(Place, place_id)


def effectively_active(place: Place) -> bool:
    """Active, and so is every place above it."""
    return all(node.is_active for node in place.lineage())


def can_see(principal: Principal, place: Place) -> bool:
    return principal.reads_everything or effectively_active(place)


def get_place(principal: Principal, place_id: int) -> Place:
    place = find(place_id)
    ensure_visible(place is not None and can_see(principal, place))
    return place


def _all_places() -> list[Place]:
    """Every place in one query, in display order; parents then resolve from the session's
    identity map, so paths cost no further queries."""
    return list(db.session.execute(select(Place).order_by(Place.sort_order, Place.name, Place.id)).scalars())


def list_places(principal: Principal, kind: str | None = None, parent_id: int | None = None,
                include_inactive: bool = False) -> list[Place]:
    """The tree flattened depth-first (a building, its floors, each floor's rooms...).
    Retired places are listed only for administrators and auditors who ask for them."""
    show_retired = include_inactive and principal.reads_everything
    children: dict[int | None, list[Place]] = {}
    for place in _all_places():
        children.setdefault(place.parent_id, []).append(place)
    out: list[Place] = []

    def walk(parent: int | None) -> None:
        for place in children.get(parent, []):
            if not show_retired and not place.is_active:
                continue  # nor anything below it
            out.append(place)
            walk(place.id)

    walk(None)
    if kind is not None:
        out = [p for p in out if p.kind == kind]
    if parent_id is not None:
        out = [p for p in out if p.parent_id == parent_id]
    return out


class PlaceNode:
    """A place in the nested tree: the place's attributes, plus `children`."""

    def __init__(self, place: Place):
        self.place, self.children = place, []

    def __getattr__(self, name):
        return getattr(self.place, name)


def place_tree(principal: Principal, include_inactive: bool = False) -> list[PlaceNode]:
    """Nested: buildings, each with its `children`, and so on down."""
    nodes = {p.id: PlaceNode(p) for p in list_places(principal, include_inactive=include_inactive)}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


# --- writing -----------------------------------------------------------------------------

def check_place(place: Place, kind: str, parent: Place | None) -> None:
    """The hierarchy rules the database cannot check: a building has no parent, a floor's
    parent is a building, a room's or area's parent is a floor or a building; the place's
    existing children must still fit under its (new) kind."""
    if kind not in PLACE_KINDS:
        raise AppError("VALIDATION_ERROR", details={"fields": {"json": {"kind": ["地点类型无效"]}}})
    allowed = PLACE_PARENT_KINDS[kind]
    if (parent is None) != (not allowed) or (parent is not None and parent.kind not in allowed):
        raise AppError("PLACE_PARENT_INVALID", details={"kind": kind, "allowed_parent_kinds": list(allowed)})
    if place.id is not None:
        child_kinds = set(db.session.execute(
            select(Place.kind).where(Place.parent_id == place.id).distinct()).scalars())
        misfits = sorted(k for k in child_kinds if kind not in PLACE_PARENT_KINDS[k])
        if misfits:
            raise AppError("PLACE_HAS_CHILDREN", details={"kind": kind, "child_kinds": misfits})


def _parent(parent_id: int | None) -> Place | None:
    if parent_id is None:
        return None
    # Locked (shared): a parent cannot change its kind while a child is put under it.
    parent = None
    if 0 < parent_id <= MAX_ID:
        parent = db.session.get(Place, parent_id, with_for_update={"read": True}, populate_existing=True)
    if parent is None:
        raise AppError("VALIDATION_ERROR", details={"fields": {"json": {"parent_id": ["上级地点不存在"]}}})
    return parent


@contextmanager
def _unique_or_conflict():
    """A unique violation (sibling name, code) becomes 409 CONFLICT naming the field; the
    savepoint keeps the caller's transaction usable."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != "23505":
            raise
        constraint = violated_constraint(exc) or ""
        field, message = (("code", "地点编码已存在") if constraint == "uq_place_code"
                          else ("name", "同一上级下已有同名地点"))
        raise AppError("CONFLICT", message=message, details={"fields": {"json": {field: [message]}}}) from exc


def _clean(data: dict) -> dict:
    data = dict(data)
    data["name"] = data["name"].strip()
    data["code"] = (data.get("code") or "").strip() or None
    return data


def _audit_values(place: Place) -> dict:
    return {"kind": place.kind, "name": place.name, "code": place.code, "parent_id": place.parent_id,
            "sort_order": place.sort_order, "is_active": place.is_active}


def create_place(actor: Principal, data: dict) -> Place:
    data = _clean(data)
    parent = _parent(data.get("parent_id"))
    place = Place(kind=data["kind"], name=data["name"], code=data["code"], parent=parent,
                  sort_order=data.get("sort_order", 0), is_active=data.get("is_active", True))
    check_place(place, place.kind, parent)
    with _unique_or_conflict():
        db.session.add(place)
    audit.record("place.create", "place", place.id, _audit_values(place), actor=actor)
    return place


def update_place(actor: Principal, place: Place, data: dict) -> Place:
    data = _clean(data)
    db.session.refresh(place, with_for_update=True)  # children are counted against the new kind
    parent = _parent(data.get("parent_id"))
    if parent is not None and parent.id == place.id:
        raise AppError("PLACE_PARENT_INVALID", details={"kind": data["kind"],
                                                        "allowed_parent_kinds": list(PLACE_PARENT_KINDS[data["kind"]])})
    check_place(place, data["kind"], parent)
    before = _audit_values(place)
    with _unique_or_conflict():
        place.kind, place.name, place.code = data["kind"], data["name"], data["code"]
        place.parent = parent
        place.sort_order = data.get("sort_order", 0)
        place.is_active = data.get("is_active", True)
        db.session.flush()
    after = _audit_values(place)
    changed = {key: value for key, value in after.items() if before[key] != value}
    if changed:
        audit.record("place.update", "place", place.id, {"changed": changed}, actor=actor)
    return place


# --- mini-program codes ------------------------------------------------------------------

def place_scene(place: Place) -> str:
    """The scene of the place's mini-program code: "p=<id>"."""
    return codes.make_scene(SCENE_TYPE, place.id)


def place_code_png(place: Place) -> bytes:
    return codes.wxa_code_png(place_scene(place))


def resolve_place(principal: Principal, place_id: int) -> dict | None:
    """A scanned place code: the place (with its path) when it is in use."""
    place = find(place_id)
    if place is None or not effectively_active(place):
        return None
    return {"place": place}


codes.register_scene_type(SCENE_PREFIX, SCENE_TYPE, resolve_place)
