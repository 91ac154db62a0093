"""Subscribers, and geo-targeting: which of them an alert concerns.

A subscriber (a resident, a device, an operator) has a language, one or more channels, and optionally a place:
a ``home`` twin (a building) or a ``point`` ``[lon, lat]``.

**Who an alert reaches.** An alert names its area (``Alert.area``): ``zone``, a flood-zone twin (``zones`` when
the rule found several), and/or ``twins``. A subscriber with a place is notified when the area covers it:

- *Zone, home building.* The building belongs to the zone when it has an ``inFloodZone`` relationship to the
  zone; the relationship is authoritative, because the city importer made it with the same rule futago
  applies everywhere (the footprint centre lies in the zone polygon) and it may have been corrected by hand
  since. A building without such a relationship (added after the import, or never joined) belongs to the zone
  when the centre of its ``geometry`` lies in the zone polygon — the importer's rule, so the two never
  disagree on imported data.
- *Zone, depth.* It is notified only where the planned inundation depth at the building is at least the
  threshold (``depth_threshold_m``, 0.5 m by default; an alert may set its own with ``area.minDepth``). The
  depth is the building's own PLATEAU risk entry (``risks[]``) for the zone's river (``description``) and
  scale (L1/L2) when it has one: the surveyed figure itself, read first so that a relationship carrying the
  depth of another scale (L2 on an L1 zone) cannot cause a false notification; else the relationship's
  ``depth``; else the zone's.
- *Zone, point.* A point in the zone polygon gets the zone's depth: the zone's ``depth`` property, else the
  lower bound of its rank band (``0.5m以上3m未満`` → 0.5, ``0.5m未満`` → 0). A point has no building whose
  survey could say more, and the lower bound is the least the zone promises, so a point is notified only
  where the whole band reaches the threshold — no false notifications.
- *Twins.* A home that is one of ``area.twins``, or a point inside one of their polygons.

A depth that is unknown never meets a positive threshold. A subscriber without a place gets only the alerts of
the rules it names in ``rules`` (``fnmatch`` patterns, ``*`` for every rule). ``rules``, ``minSeverity`` and
``events`` narrow what a subscriber with a place gets, too.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import shapely
from shapely.geometry import shape

from futago.act.model import SEVERITIES, Alert
from futago.core.notifications import DEFAULT_EVENTS, EVENT_KINDS, LANGUAGES
from futago.core.notifications import Subscriber as Subscriber  # re-exported: the record is core's, its rules here
from futago.core.problems import Problem
from futago.core.secrets import conceal
from futago.core.twins import Relationship, Twin, TwinScan
from futago.core.validation import Checker

log = logging.getLogger(__name__)

IN_FLOOD_ZONE = "inFloodZone"
SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
_KEYS = {"id", "name", "language", "home", "point", "rules", "minSeverity", "events", "channels"}
_MAX_CHANNELS = 10
_CHUNK = 500  # twin ids per store call, well under SQLite's bound on parameters
# The models of the buildings the city importer makes, when the composition root names no others: a zone's
# buildings are those joined to it by ``inFloodZone``, and twins of these models whose footprint centre lies in it.
BUILDING_MODELS = frozenset({"dtmi:futago:city:Building;1", "dtmi:futago:city:BuildingPart;1"})


#: Problems with one channel entry of a subscriber (the service asks the channel of the entry's type).
ChannelCheck = Callable[[Mapping[str, Any], str], list[Problem]]


def parse_subscriber(subscriber_id: str, body: Any, check_channel: ChannelCheck) -> Subscriber:
    """A subscriber from its JSON; InvalidInput names every mistake, with a pointer."""
    check = Checker()
    if not SUBSCRIBER_ID.fullmatch(subscriber_id):
        check.add("/id", "a subscriber id has 1 to 128 letters, digits, '.', '_', ':', '@' or '-'")
    if not isinstance(body, dict):
        check.extend([Problem("", "a subscriber is a JSON object")])
        check.raise_if_any()
    check.keys(body, sorted(_KEYS), message=f"unknown key; use {sorted(_KEYS)}")
    if "id" in body and body["id"] != subscriber_id:
        check.add("/id", f"the body's id differs from the path's '{subscriber_id}'")
    name = body.get("name", subscriber_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:  # a null too: a name is not optional
        check.add("/name", "name is a non-empty string of up to 200 characters")
    language = check.choice(body, "language", LANGUAGES, default="ja", message="language is 'ja' or 'en'")
    home, point = body.get("home"), body.get("point")
    if home is not None and point is not None:
        check.add("/point", "give a home twin or a point, not both")
    if home is not None and (not isinstance(home, str) or not home or len(home) > 1024):
        check.add("/home", "home is the id of a twin (a building)")
    if point is not None and not _is_lonlat(point):
        check.add("/point", "point is [longitude, latitude] in WGS84 degrees")
    rules = body.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) and r and len(r) <= 256 for r in rules):
        check.add("/rules", "rules is a list of rule names or patterns such as 'flood-*'")
        rules = []
    severity = check.choice(
        body, "minSeverity", SEVERITIES, default="info", message=f"minSeverity is one of {list(SEVERITIES)}"
    )
    events = body.get("events", sorted(DEFAULT_EVENTS))
    if not isinstance(events, list) or not events or not all(e in EVENT_KINDS for e in events):
        check.add("/events", f"events is a non-empty list of {list(EVENT_KINDS)}")
        events = list(DEFAULT_EVENTS)
    channels = _channels(body.get("channels"), check_channel, check)
    check.raise_if_any()
    return Subscriber(
        id=subscriber_id,
        name=name,
        language=language,
        channels=channels,
        home=home,
        point=(float(point[0]), float(point[1])) if point is not None else None,
        rules=tuple(rules),
        min_severity=severity,
        events=frozenset(events),
    )


def _is_lonlat(value: Any) -> bool:
    if not isinstance(value, list) or len(value) != 2:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return False
    return -180.0 <= value[0] <= 180.0 and -90.0 <= value[1] <= 90.0


def _channels(value: Any, check_channel: ChannelCheck, check: Checker) -> tuple[dict[str, Any], ...]:
    """The channel entries, each named: its ``name``, else its type (``webhook``, then ``webhook-2``...)."""
    if not isinstance(value, list) or not 1 <= len(value) <= _MAX_CHANNELS:
        check.add("/channels", f"channels is a list of 1 to {_MAX_CHANNELS} channel objects")
        return ()
    entries: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, entry in enumerate(value):
        pointer = f"/channels/{index}"
        if not isinstance(entry, dict):
            check.add(pointer, "a channel is an object with a 'type'")
            continue
        found = check_channel(entry, pointer)
        check.extend(found)
        if found:
            continue
        name = entry.get("name")
        if name is None:
            name, count = entry["type"], 1
            while name in names:
                count += 1
                name = f"{entry['type']}-{count}"
        if name in names:
            check.add(f"{pointer}/name", f"two channels are named '{name}'")
        names.add(name)
        entries.append(conceal({**entry, "name": name}))  # a webhook's secret is a Secret from here on
    return tuple(entries)


# ---------------------------------------------------------------------------------------------
# Geo-targeting
# ---------------------------------------------------------------------------------------------


class TwinReader(Protocol):
    """The part of the store geo-targeting reads."""

    def get_twin(self, twin_id: str) -> Twin | None: ...
    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]: ...
    def scan_twins(self, scan: TwinScan) -> list[Twin]: ...
    def list_incoming(self, target_id: str) -> list[Relationship]: ...


@dataclass(frozen=True)
class Recipient:
    subscriber: Subscriber
    why: str  # "inFloodZone", "footprint", "point", "twin" or "rule": how the alert reached them
    zone: str | None = None  # the zone twin it reached them through
    depth: float | None = None  # the planned inundation depth at their place, in metres


@dataclass
class Zone:
    """A flood zone twin, ready for point-in-polygon tests."""

    id: str
    name: str
    etag: str
    polygon: shapely.Geometry | None
    bbox: tuple[float, float, float, float] | None
    depth: float | None  # the zone's own planned depth (or its rank band's lower bound)
    description: str | None  # the river, matching the buildings' risk entries
    scale: str | None  # L1 / L2, matching the buildings' risk entries
    properties: dict[str, Any] = field(default_factory=dict)

    def contains(self, lon: float, lat: float) -> bool:
        return self.polygon is not None and bool(shapely.contains_xy(self.polygon, lon, lat))


_BAND_LOW = re.compile(r"(\d+(?:\.\d+)?)\s*m\s*以上")
_BAND_BELOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*m\s*未満\s*$")


def rank_floor(rank: Any) -> float | None:
    """The lower bound of a PLATEAU depth-rank label: '0.5m以上3m未満' → 0.5, '0.5m未満' → 0.0."""
    if not isinstance(rank, str):
        return None
    low = _BAND_LOW.search(rank)
    if low:
        return float(low.group(1))
    return 0.0 if _BAND_BELOW.match(rank) else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _polygon(geometry: Any) -> shapely.Geometry | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return None
    if polygon.is_empty:
        return None
    shapely.prepare(polygon)
    return polygon


def centre(geometry: Any) -> tuple[float, float] | None:
    """A twin's place: a Point's position, else the centroid of its footprint (the importer's join rule)."""
    if not isinstance(geometry, dict):
        return None
    try:
        if geometry.get("type") == "Point":
            lon, lat = geometry["coordinates"][:2]
            return float(lon), float(lat)
        found = shape(geometry).centroid
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return None
    return None if found.is_empty else (found.x, found.y)


def own_depth(building: Twin | None, zone: Zone) -> float | None:
    """The deepest planned depth of the building's own risk entries for the zone's river and scale."""
    if building is None or zone.description is None or zone.scale is None:
        return None
    risks = building.properties.get("risks")
    if not isinstance(risks, list):
        return None
    depths = [
        _number(r.get("depth"))
        for r in risks
        if isinstance(r, dict)
        and r.get("kind", "river_flooding") == "river_flooding"
        and r.get("description") == zone.description
        and r.get("scale") == zone.scale
    ]
    known = [d for d in depths if d is not None]
    return max(known) if known else None


def building_depth(building: Twin | None, relationship: Relationship | None, zone: Zone) -> float | None:
    own = own_depth(building, zone)
    if own is not None:
        return own
    if relationship is not None:
        depth = _number(relationship.properties.get("depth"))
        if depth is not None:
            return depth
    return zone.depth


def meets(depth: float | None, threshold: float) -> bool:
    return threshold <= 0 or (depth is not None and depth >= threshold)


class Targeting:
    """Picks an alert's recipients among subscribers (see the module's docstring for the rules)."""

    def __init__(
        self,
        twins: TwinReader,
        threshold_m: float = 0.5,
        building_models: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.twins = twins
        self.threshold_m = threshold_m
        # A callable, so that building models uploaded later count too.
        self.building_models = building_models or (lambda: BUILDING_MODELS)
        self._zones: dict[str, Zone] = {}
        self._lock = threading.Lock()

    @staticmethod
    def area(alert: Alert) -> tuple[list[str], list[str]]:
        """The zone twins and the other twins an alert's area names (a zone, zones, twins)."""
        zone_ids = list(dict.fromkeys(_ids(alert.area.get("zone")) + _ids(alert.area.get("zones"))))
        return zone_ids, _ids(alert.area.get("twins"))

    def threshold(self, alert: Alert) -> float:
        override = _number(alert.area.get("minDepth"))
        return override if override is not None else self.threshold_m

    def zone(self, zone_id: str) -> Zone | None:
        """The zone twin, parsed once per version (its polygon may hold thousands of vertices)."""
        twin = self.twins.get_twin(zone_id)
        if twin is None:
            return None
        with self._lock:
            known = self._zones.get(zone_id)
        if known is not None and known.etag == twin.etag:
            return known
        polygon = _polygon(twin.geometry)
        props = twin.properties
        depth = _number(props.get("depth"))
        zone = Zone(
            id=twin.id,
            name=str(props.get("name") or twin.id),
            etag=twin.etag,
            polygon=polygon,
            bbox=tuple(shapely.bounds(polygon).tolist()) if polygon is not None else None,
            depth=depth if depth is not None else rank_floor(props.get("rank")),
            description=props.get("description") if isinstance(props.get("description"), str) else None,
            scale=props.get("scale") if isinstance(props.get("scale"), str) else None,
            properties=dict(props),
        )
        with self._lock:
            if len(self._zones) > 10_000:
                self._zones.clear()
            self._zones[zone_id] = zone
        return zone

    def recipients(self, alert: Alert, kind: str, subscribers: Iterable[Subscriber]) -> list[Recipient]:
        """Each subscriber at most once, through the first part of the area that reaches it."""
        wanting = [s for s in subscribers if s.wants(alert, kind)]
        located = [s for s in wanting if s.located]
        found: dict[str, Recipient] = {}
        threshold = self.threshold(alert)
        zone_ids, twin_ids = self.area(alert)
        for zone_id in zone_ids:
            zone = self.zone(zone_id)
            if zone is None:
                log.warning(
                    "alert %s names zone '%s', which is not a twin: nobody notified through it", alert.id, zone_id
                )
                continue
            for recipient in self._in_zone(zone, [s for s in located if s.id not in found], threshold):
                found[recipient.subscriber.id] = recipient
        if twin_ids:
            for recipient in self._at_twins(twin_ids, [s for s in located if s.id not in found]):
                found[recipient.subscriber.id] = recipient
        for subscriber in wanting:
            if not subscriber.located and subscriber.rules and subscriber.id not in found:
                found[subscriber.id] = Recipient(subscriber, "rule")
        return list(found.values())

    def _in_zone(self, zone: Zone, subscribers: Sequence[Subscriber], threshold: float) -> list[Recipient]:
        homes = {s.home for s in subscribers if s.home is not None}
        places = self.homes_in_zone(zone, homes)
        out: list[Recipient] = []
        for subscriber in subscribers:
            if subscriber.home is not None and subscriber.home in places:
                depth, why = places[subscriber.home]
                if meets(depth, threshold):
                    out.append(Recipient(subscriber, why, zone.id, depth))
            elif subscriber.point is not None and zone.contains(*subscriber.point) and meets(zone.depth, threshold):
                out.append(Recipient(subscriber, "point", zone.id, zone.depth))
        return out

    def homes_in_zone(self, zone: Zone, homes: set[str] | None) -> dict[str, tuple[float | None, str]]:
        """Of ``homes`` (every building when None), those in the zone: their planned depth and how they were
        found to be in it."""
        related = {
            r.source_id: r
            for r in self.twins.list_incoming(zone.id)
            if r.name == IN_FLOOD_ZONE and (homes is None or r.source_id in homes)
        }
        buildings: dict[str, Twin] = {}
        for part in _chunks(sorted(related)):
            buildings.update(self.twins.get_twins(part))
        places = {
            home: (building_depth(buildings.get(home), rel, zone), IN_FLOOD_ZONE) for home, rel in related.items()
        }
        if zone.bbox is None:
            return places
        # the store's spatial index narrows to the zone's bounding box first
        if homes is None:
            scans = [TwinScan(model_ids=self.building_models(), bbox=zone.bbox)]
        else:
            scans = [TwinScan(twin_ids=frozenset(p), bbox=zone.bbox) for p in _chunks(sorted(homes - related.keys()))]
        for scan in scans:
            for twin in self.twins.scan_twins(scan):
                if twin.id in related:
                    continue
                where = centre(twin.geometry)
                if where is not None and zone.contains(*where):
                    places[twin.id] = (building_depth(twin, None, zone), "footprint")
        return places

    def buildings_in(self, zone_ids: Iterable[str], threshold: float) -> dict[str, float | None]:
        """Every building in the zones where the planned depth meets ``threshold`` — the buildings whose
        residents an alert over that area would reach — with its deepest depth over the zones."""
        found: dict[str, float | None] = {}
        for zone_id in dict.fromkeys(zone_ids):
            zone = self.zone(zone_id)
            if zone is None:
                log.warning("zone '%s' is not a twin: no buildings counted in it", zone_id)
                continue
            for building, (depth, _) in self.homes_in_zone(zone, None).items():
                if meets(depth, threshold):
                    known = found.get(building)
                    found[building] = depth if known is None or (depth is not None and depth > known) else known
        return found

    def _at_twins(self, twin_ids: list[str], subscribers: Sequence[Subscriber]) -> list[Recipient]:
        wanted = set(twin_ids)
        polygons: list[tuple[str, shapely.Geometry]] = []
        if any(s.point is not None for s in subscribers):
            for part in _chunks(twin_ids):
                for twin in self.twins.get_twins(part).values():
                    polygon = _polygon(twin.geometry)
                    if polygon is not None:
                        polygons.append((twin.id, polygon))
        out: list[Recipient] = []
        for subscriber in subscribers:
            if subscriber.home is not None and subscriber.home in wanted:
                out.append(Recipient(subscriber, "twin"))
            elif subscriber.point is not None:
                lon, lat = subscriber.point
                if any(shapely.contains_xy(polygon, lon, lat) for _, polygon in polygons):
                    out.append(Recipient(subscriber, "twin"))
        return out


def _ids(value: Any) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
