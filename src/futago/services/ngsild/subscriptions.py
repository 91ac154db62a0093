"""NGSI-LD subscription documents (GS CIM 009 V1.8.1 clause 5.2.12): parsed, checked, merged and answered.

A subscription is stored with its names expanded (entity types, watched and notified attributes) and the
@context it came with, so that its ``q`` and its notifications are read and written in the subscriber's terms
whatever context a later request uses. Everything here is pure: storage and delivery are ``notifier``'s.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from futago.services.ngsild.attributes import LOCATION
from futago.services.ngsild.context import TermMap
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.joins import join_params
from futago.services.ngsild.qlang import safe_id_pattern
from futago.services.ngsild.scopeq import compiled, scope_matches

FORMATS = {"normalized": "normalized", "keyValues": "keyValues", "simplified": "keyValues", "concise": "concise"}
ACCEPTS = ("application/json", "application/ld+json")
SCHEMES = ("http", "https", "mqtt", "mqtts")
GEORELS = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# Members a client sends; the status members of the subscription and of its notification are the server's.
_MEMBERS = frozenset({
    "id", "type", "subscriptionName", "description", "entities", "watchedAttributes", "notificationTrigger",
    "timeInterval", "q", "geoQ", "csf", "isActive", "notification", "expiresAt", "throttling", "lang",
    "jsonldContext", "status", "createdAt", "modifiedAt", "@context", "scopeQ", "temporalQ", "datasetId",
})  # fmt: skip
# GS CIM 009 V1.8.1 clause 5.2.12: what may trigger a notification, and the default when a subscription names none.
TRIGGERS = (
    "entityCreated", "entityUpdated", "entityDeleted", "attributeCreated", "attributeUpdated", "attributeDeleted",
)  # fmt: skip
DEFAULT_TRIGGERS = ("attributeCreated", "attributeUpdated")
_NOTIFICATION = frozenset(
    {"attributes", "sysAttrs", "format", "showChanges", "endpoint", "pick", "omit", "join", "joinLevel"}
)
_READ_ONLY = frozenset(
    {"status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure", "timesCoalesced"}
)
_ENDPOINT = frozenset({"uri", "accept", "receiverInfo", "notifierInfo", "timeout", "cooldown"})
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_MAX_TEXT = 4096


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_uri(text: str) -> bool:
    return len(text) <= 256 and _URI.match(text) is not None


def parse_time(text: Any, member: str) -> datetime:
    if not isinstance(text, str):
        raise BadRequestData(f"{member} is a DateTime string (ISO 8601)")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequestData(f"{member} is not an ISO 8601 DateTime: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _seconds(value: Any, member: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise BadRequestData(f"{member} is a positive number of seconds")
    return value  # an integer stays one: a client reads back the number it gave


def _text(value: Any, member: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise BadRequestData(f"{member} is a non-empty string of at most {_MAX_TEXT} characters")
    return value


def _names(value: Any, member: str, terms: TermMap) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise BadRequestData(f"{member} is a non-empty array of attribute names")
    return [terms.expand(v) for v in value]


def _members(value: Any, member: str, terms: TermMap) -> list[str]:
    """pick/omit of a notification: entity members, ``id`` and ``type`` by those names, attributes expanded."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise BadRequestData(f"{member} is a non-empty array of entity member names")
    return list(dict.fromkeys(v if v in ("id", "type") else terms.expand(v) for v in value))


def _entities(value: Any, terms: TermMap) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise BadRequestData("entities is a non-empty array of {type, id or idPattern}")
    selectors = []
    for index, item in enumerate(value):
        where = f"entities[{index}]"
        if not isinstance(item, dict) or set(item) - {"id", "idPattern", "type"}:
            raise BadRequestData(f"{where} is an object with type and optionally id or idPattern")
        selector = {"type": terms.expand(_text(item.get("type"), f"{where}.type"))}
        if "id" in item:
            if not isinstance(item["id"], str) or not _URI.match(item["id"]):
                raise BadRequestData(f"{where}.id is a URI")
            selector["id"] = item["id"]
        if "idPattern" in item:
            pattern = _text(item["idPattern"], f"{where}.idPattern")
            safe_id_pattern(pattern, f"/entities/{index}/idPattern")  # matched on every change
            selector["idPattern"] = pattern
        selectors.append(selector)
    return selectors


def _triggers(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequestData(f"notificationTrigger is a non-empty array of {', '.join(TRIGGERS)}")
    unknown = [v for v in value if v not in TRIGGERS]
    if unknown:
        raise BadRequestData(f"notificationTrigger: unknown triggers {unknown}; known are {', '.join(TRIGGERS)}")
    return list(dict.fromkeys(value))


def _dataset_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and _URI.match(v) for v in value):
        raise BadRequestData("datasetId is a non-empty array of URIs (@none for the default instance)")
    return list(dict.fromkeys(value))


def _context_url(value: Any) -> str:
    """A jsonldContext is the URL of a dereferenceable @context (clause 5.2.12)."""
    text = _text(value, "jsonldContext")
    if not text.startswith(("http://", "https://")) or any(c.isspace() for c in text):
        raise BadRequestData(f"jsonldContext is the http(s) URL of an @context, not {text!r}")
    return text


def _pairs(value: Any, member: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > 50:
        raise BadRequestData(f"{member} is an array of at most 50 {{key, value}} pairs")
    pairs = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"key", "value"}:
            raise BadRequestData(f"{member} holds objects with key and value")
        key, text = item["key"], item["value"]
        if not isinstance(key, str) or not _HEADER.match(key) or not isinstance(text, str) or len(text) > _MAX_TEXT:
            raise BadRequestData(f"{member}: a key is a header name, a value a string without line breaks")
        if "\r" in text or "\n" in text:
            raise BadRequestData(f"{member}: a value may not hold line breaks")
        pairs.append({"key": key, "value": text})
    return pairs


def _endpoint(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - _ENDPOINT:
        raise BadRequestData(f"notification.endpoint is an object with {sorted(_ENDPOINT)}")
    uri = _text(value.get("uri"), "notification.endpoint.uri")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise BadRequestData(f"notification.endpoint.uri is not a URI: {exc}") from exc
    if parts.scheme not in SCHEMES or not parts.hostname or port == 0 or any(c.isspace() for c in uri):
        raise BadRequestData("notification.endpoint.uri is an http(s):// URL or mqtt(s)://host[:port]/topic")
    if parts.scheme.startswith("mqtt") and (not parts.path.strip("/") or "+" in parts.path or "#" in uri):
        raise BadRequestData("an MQTT endpoint names one topic: mqtt://host:port/<topic>, no '+' or '#'")
    endpoint: dict[str, Any] = {"uri": uri, "accept": value.get("accept", "application/json")}
    if endpoint["accept"] not in ACCEPTS:
        raise BadRequestData(f"notification.endpoint.accept is one of {', '.join(ACCEPTS)}")
    for member in ("receiverInfo", "notifierInfo"):
        if member in value:
            endpoint[member] = _pairs(value[member], f"notification.endpoint.{member}")
    if "timeout" in value:
        endpoint["timeout"] = _seconds(value["timeout"], "notification.endpoint.timeout")
    return endpoint


def _notification(value: Any, terms: TermMap, old: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - _NOTIFICATION - _READ_ONLY:
        raise BadRequestData(f"notification is an object with {sorted(_NOTIFICATION)}")
    out = dict(old or {"format": "normalized"})
    if "endpoint" in value:
        out["endpoint"] = _endpoint(value["endpoint"])
    if "endpoint" not in out:
        raise BadRequestData("notification.endpoint is required (with its uri)")
    if "attributes" in value:
        out["attributes"] = _names(value["attributes"], "notification.attributes", terms)
    for member in ("pick", "omit"):
        if member in value:
            out[member] = _members(value[member], f"notification.{member}", terms)
    if "attributes" in out and ("pick" in out or "omit" in out):
        raise BadRequestData("notification.attributes cannot be combined with pick or omit (GS CIM 009 4.21)")
    if "pick" in out and "omit" in out:  # as in a query: one projection or the other
        raise BadRequestData("notification.pick and notification.omit cannot be used together")
    if "format" in value:
        if value["format"] not in FORMATS:
            raise BadRequestData("notification.format is normalized, keyValues (simplified) or concise")
        out["format"] = FORMATS[value["format"]]
    for flag in ("sysAttrs", "showChanges"):
        if flag in value:
            if not isinstance(value[flag], bool):
                raise BadRequestData(f"notification.{flag} is true or false")
            out[flag] = value[flag]
    join_params(value, out)
    if out.get("showChanges") and out["format"] == "keyValues":  # clause 5.2.14: no previous values to show there
        raise BadRequestData("notification.showChanges cannot be true with the keyValues (simplified) format")
    return out


def _geo_q(value: Any, terms: TermMap) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"geometry", "coordinates", "georel", "geoproperty"}:
        raise BadRequestData("geoQ is an object with geometry, coordinates, georel and optionally geoproperty")
    geometry = value.get("geometry")
    if geometry not in GEOMETRIES:
        raise BadRequestData(f"geoQ.geometry is one of {', '.join(GEOMETRIES)}")
    coordinates = value.get("coordinates")
    if isinstance(coordinates, str):  # the query-string form, as a JSON text
        try:
            import orjson

            coordinates = orjson.loads(coordinates)
        except ValueError as exc:
            raise BadRequestData("geoQ.coordinates is a JSON array of positions") from exc
    shape_of({"type": geometry, "coordinates": coordinates})  # refused here, not at the first notification
    rel = parse_georel(value.get("georel"))
    prop = value.get("geoproperty", "location")
    return {
        "geometry": geometry,
        "coordinates": coordinates,
        "georel": value["georel"],
        "rel": rel,
        "geoproperty": terms.expand(_text(prop, "geoQ.geoproperty")),
    }


def parse_georel(text: Any) -> dict[str, Any]:
    """``near;maxDistance==1000``, ``within``, ...: the relation and its distances in metres."""
    if not isinstance(text, str):
        raise BadRequestData(f"geoQ.georel is one of {', '.join(GEORELS)} (near with ;maxDistance== or ;minDistance==)")
    name, *modifiers = text.split(";")
    if name not in GEORELS:
        raise BadRequestData(f"geoQ.georel is one of {', '.join(GEORELS)}, not {name!r}")
    rel: dict[str, Any] = {"name": name}
    for modifier in modifiers:
        key, _, number = modifier.partition("==")
        if name != "near" or key not in ("maxDistance", "minDistance"):
            raise BadRequestData(f"georel modifier {modifier!r}: near takes maxDistance== or minDistance==")
        try:
            rel[key] = float(number)
        except ValueError as exc:
            raise BadRequestData(f"georel {key} is a number of metres, not {number!r}") from exc
        if not math.isfinite(rel[key]) or rel[key] < 0:
            raise BadRequestData(f"georel {key} is a number of metres, at least 0")
    if name == "near" and len(rel) == 1:
        raise BadRequestData("georel near needs ;maxDistance== or ;minDistance==")
    return rel


def shape_of(geometry: Any) -> Any:
    """A shapely geometry of a GeoJSON one; BadRequestData when it is not one."""
    import shapely
    from shapely.geometry import shape

    try:
        found = shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise BadRequestData(f"not a GeoJSON geometry: {exc}") from exc
    if found.is_empty:
        raise BadRequestData("an empty geometry")
    return found


def geo_matches(geo_q: dict[str, Any], value: Any) -> bool:
    """Whether a GeoProperty's value stands in the geoQ's relation to its geometry. Distances are measured in
    metres on a local flat projection around the reference (good to well under 1 % across a city)."""
    if not isinstance(value, dict):
        return False
    try:
        here = shape_of(value)
    except BadRequestData:
        return False
    there = shape_of({"type": geo_q["geometry"], "coordinates": geo_q["coordinates"]})
    rel = geo_q["rel"]
    name = rel["name"]
    if name == "near":
        distance = _metres(here, there)
        return distance <= rel.get("maxDistance", math.inf) and distance >= rel.get("minDistance", 0.0)
    test: Callable[[Any, Any], bool] = {
        "within": lambda a, b: a.within(b),
        "contains": lambda a, b: a.contains(b),
        "intersects": lambda a, b: a.intersects(b),
        "equals": lambda a, b: a.equals(b),
        "disjoint": lambda a, b: a.disjoint(b),
        "overlaps": lambda a, b: a.overlaps(b),
    }[name]
    return bool(test(here, there))


def _metres(a: Any, b: Any) -> float:
    from shapely.ops import transform

    centre = b.centroid
    scale_x = 111_320.0 * math.cos(math.radians(centre.y))

    def flat(x: Any, y: Any, z: Any = None) -> tuple[Any, Any]:
        return (x - centre.x) * scale_x, (y - centre.y) * 110_574.0

    return float(transform(flat, a).distance(transform(flat, b)))


def parse(document: Any, terms: TermMap, context: Any, now: datetime) -> dict[str, Any]:
    """A new subscription from its JSON: the record to store (names expanded), or BadRequestData."""
    if not isinstance(document, dict):
        raise BadRequestData("a subscription is a JSON object")
    if document.get("type") != "Subscription":
        raise BadRequestData("a subscription's type is 'Subscription'")
    sub_id = document.get("id", f"urn:ngsi-ld:Subscription:{uuid.uuid4()}")
    if not isinstance(sub_id, str) or not _URI.match(sub_id) or len(sub_id) > 256:
        raise BadRequestData("a subscription id is a URI of at most 256 characters")
    if "notification" not in document:
        raise BadRequestData("a subscription needs notification (with its endpoint)")
    # isActive is kept only when given: its default (true) is implied, and GET shows what the client sent
    record: dict[str, Any] = {"id": sub_id, "type": "Subscription", "context": context}
    record = apply(record, {k: v for k, v in document.items() if k not in ("id", "type")}, terms, now)
    record["createdAt"] = record["modifiedAt"] = iso(now)
    return record


def in_scope(record: dict[str, Any], scopes: list[str]) -> bool:
    """Whether an entity of these scopes passes the subscription's scopeQ (4.19), when it has one."""
    return not record.get("scopeQ") or scope_matches(compiled(record["scopeQ"]), scopes)


def apply(record: dict[str, Any], fragment: Any, terms: TermMap, now: datetime) -> dict[str, Any]:
    """``record`` with the members of ``fragment`` (a new subscription's or a PATCH's), checked as a whole."""
    if not isinstance(fragment, dict):
        raise BadRequestData("a subscription fragment is a JSON object")
    unknown = set(fragment) - _MEMBERS
    if unknown:
        raise BadRequestData(f"unknown subscription members {sorted(unknown)}")
    out = dict(record)
    for member in ("subscriptionName", "description", "q", "lang"):
        if member in fragment:
            out[member] = _text(fragment[member], member)
    if "entities" in fragment:
        out["entities"] = _entities(fragment["entities"], terms)
    if "watchedAttributes" in fragment:
        out["watchedAttributes"] = _names(fragment["watchedAttributes"], "watchedAttributes", terms)
    for member in ("timeInterval", "throttling"):
        if member in fragment:
            out[member] = _seconds(fragment[member], member)
    if "geoQ" in fragment:
        out["geoQ"] = _geo_q(fragment["geoQ"], terms)
    if "scopeQ" in fragment:
        scope_q = _text(fragment["scopeQ"], "scopeQ")
        compiled(scope_q)  # checked now (a 400 pointing at /scopeQ), matched on every change
        out["scopeQ"] = scope_q
    if "isActive" in fragment:
        if not isinstance(fragment["isActive"], bool):
            raise BadRequestData("isActive is true or false")
        out["isActive"] = fragment["isActive"]
    if "expiresAt" in fragment:
        expires = parse_time(fragment["expiresAt"], "expiresAt")
        if expires <= now:  # clause 5.8.1.4 and 5.8.2.4: on creation and on update alike
            raise BadRequestData("expiresAt is in the past")
        out["expiresAt"] = iso(expires)
    if "notificationTrigger" in fragment:
        out["notificationTrigger"] = _triggers(fragment["notificationTrigger"])
    if "datasetId" in fragment:
        out["datasetId"] = _dataset_ids(fragment["datasetId"])
    if "notification" in fragment:
        out["notification"] = _notification(fragment["notification"], terms, record.get("notification"))
    if "jsonldContext" in fragment:
        out["context"] = _context_url(fragment["jsonldContext"])
    if "entities" not in out and "watchedAttributes" not in out:
        raise BadRequestData("a subscription needs entities or watchedAttributes")
    if "timeInterval" in out and "watchedAttributes" in out:
        raise BadRequestData("timeInterval and watchedAttributes cannot be used together")
    if "timeInterval" in out and "throttling" in out:
        raise BadRequestData("timeInterval and throttling cannot be used together")
    out["modifiedAt"] = iso(now)
    return out


def status_of(record: dict[str, Any], now: datetime) -> str:
    """``active``, ``paused`` (isActive false) or ``expired`` (expiresAt passed)."""
    if "expiresAt" in record and parse_time(record["expiresAt"], "expiresAt") <= now:
        return "expired"
    return "active" if record.get("isActive", True) else "paused"


def hears(record: dict[str, Any], now: datetime, changed_at: str | None) -> bool:
    """Whether a subscription is told of a change made at ``changed_at``: an active one without timeInterval,
    created before the change (5.8.6 notifies changes, and a change matched a moment late must not reach a
    subscription that did not exist when it was made). ``changed_at`` None (a change relayed from another process,
    whose clock may differ) is never judged too early: a notification too many rather than one lost."""
    if "timeInterval" in record or status_of(record, now) != "active":
        return False
    created = record.get("createdAt")
    if changed_at is None or not isinstance(created, str):
        return True
    try:  # createdAt is cut to the millisecond, never later than the creation: "after" is certain when it says so
        return parse_time(created, "createdAt") <= parse_time(changed_at, "changed_at")
    except BadRequestData:  # a moment that does not read is no reason to lose a notification
        return True


def present(
    record: dict[str, Any], counters: dict[str, Any], terms: TermMap, now: datetime, sys_attrs: bool = False
) -> dict[str, Any]:
    """A subscription as GET answers it, in the caller's terms, with its status members."""
    out: dict[str, Any] = {"id": record["id"], "type": "Subscription"}
    for member in ("subscriptionName", "description"):
        if member in record:
            out[member] = record[member]
    if "entities" in record:
        out["entities"] = [{**s, "type": terms.compact(s["type"])} for s in record["entities"]]
    if "watchedAttributes" in record:
        out["watchedAttributes"] = [terms.compact(a) for a in record["watchedAttributes"]]
    for member in ("timeInterval", "q", "scopeQ", "throttling", "expiresAt", "lang"):
        if member in record:
            out[member] = record[member]
    if "geoQ" in record:
        geo = record["geoQ"]
        out["geoQ"] = {
            "geometry": geo["geometry"],
            "coordinates": geo["coordinates"],
            "georel": geo["georel"],
            "geoproperty": terms.compact(geo["geoproperty"]),
        }
    if "isActive" in record:
        out["isActive"] = record["isActive"]
    out["notificationTrigger"] = list(record.get("notificationTrigger", DEFAULT_TRIGGERS))
    if "datasetId" in record:
        out["datasetId"] = list(record["datasetId"])
    notification = dict(record["notification"])
    if "attributes" in notification:
        notification["attributes"] = [terms.compact(a) for a in notification["attributes"]]
    for member in ("pick", "omit"):
        if member in notification:
            notification[member] = [m if m in ("id", "type") else terms.compact(m) for m in notification[member]]
    notification.update({k: v for k, v in counters.items() if k in _READ_ONLY})
    out["notification"] = notification
    if isinstance(record.get("context"), str):
        out["jsonldContext"] = record["context"]
    out["status"] = status_of(record, now)
    if sys_attrs:
        out["createdAt"], out["modifiedAt"] = record["createdAt"], record["modifiedAt"]
    return out


def geometry_of(state_attrs: dict[str, list[dict[str, Any]]], prop: str = LOCATION) -> Any:
    located = state_attrs.get(prop) or []
    return next((i.get("value") for i in located if "datasetId" not in i), None)
