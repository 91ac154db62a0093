"""The NGSI-LD temporal API over futago's telemetry store: an attribute's temporal evolution is a telemetry series.

An entity's temporal attributes are the twin's telemetry series (DTDL Telemetry, and the series the temporal API
writes for any other attribute), one reading per instance: the reading's time is the instance's ``observedAt``
and its ``instanceId`` is made from the twin, the series and that time, so it is stable for as long as the
reading exists. Reading history never goes through the twins: one read of the series' chunks in the interval,
then numpy (``aggregation``) for the aggregated representation. Writes go through the TelemetryService, so
calibration, quality checks and the ``telemetry.appended`` event apply as to any other reading.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from time import time_ns
from typing import Any

import numpy as np

from futago.core.errors import FutagoError
from futago.core.telemetry import (
    QUALITY_NOT_EVALUATED,
    Reading,
    SeriesData,
    ValueKind,
    format_timestamp,
    parse_timestamp,
)
from futago.core.twins import Twin
from futago.services.ngsild import temporal_instances as ti
from futago.services.ngsild.aggregation import aggregate, answer_time, answer_value
from futago.services.ngsild.attributes import ENTITY_MEMBERS, VALUE_MEMBER, Instance, parse_instance
from futago.services.ngsild.context import DEFAULT_VOCAB, TermMap
from futago.services.ngsild.errors import BadRequestData, NgsiLdError, ResourceNotFound
from futago.services.ngsild.mapping import EntityState
from futago.services.ngsild.querying import matching
from futago.services.ngsild.service import EntityQuery, NgsiLdService, Readable
from futago.services.ngsild.service import _readable_uri as readable_uri
from futago.services.ngsild.temporal_instances import InstanceStore
from futago.services.ngsild.types import local_name, names_of
from futago.services.quality import QC_SEPARATOR
from futago.services.telemetry import TelemetryService

TIMERELS = ("before", "after", "between")
TIME_PROPERTIES = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
MAX_INSTANCES = 10_000  # per attribute and answer; beyond it the answer is partial (206, Content-Range)
INSTANCE_PREFIX = "urn:futago:reading:"


def _everything(twin: Twin) -> Twin | None:
    return twin


@dataclass
class TimeQuery:
    """A temporal query's interval, as telemetry store bounds: ``start_us <= ts < end_us`` (None: open)."""

    start_us: int | None = None
    end_us: int | None = None
    last_n: int | None = None
    timerel: str | None = None
    time_property: str = "observedAt"  # which instant of an instance timerel and the answer's times use

    @classmethod
    def parse(
        cls,
        timerel: str | None,
        time_at: str | None,
        end_time_at: str | None,
        last_n: Any = None,
        timeproperty: str | None = None,
    ) -> TimeQuery:
        """GS CIM 009 4.11: ``before`` is t < timeAt (an exclusive bound), ``after`` t >= timeAt (an inclusive
        one), ``between`` timeAt <= t < endTimeAt (half-open, so that consecutive intervals tile, and ``after`` is
        ``between`` without an end). No timerel: the whole history."""
        if timeproperty is not None and timeproperty not in TIME_PROPERTIES:
            raise BadRequestData(f"timeproperty is one of {', '.join(TIME_PROPERTIES)}, not {timeproperty!r}")
        query = cls(last_n=_last_n(last_n), timerel=timerel, time_property=timeproperty or "observedAt")
        if timerel is None:
            if time_at is not None or end_time_at is not None:
                raise BadRequestData("timeAt and endTimeAt need timerel (before, after or between)")
            return query
        if timerel not in TIMERELS:
            raise BadRequestData(f"timerel is before, after or between, not {timerel!r}")
        if time_at is None:
            raise BadRequestData(f"timerel={timerel} needs timeAt")
        at = _instant(time_at, "timeAt")
        if timerel == "before":
            query.end_us = at
        elif timerel == "after":
            query.start_us = at
        else:
            if end_time_at is None:
                raise BadRequestData("timerel=between needs endTimeAt")
            end = _instant(end_time_at, "endTimeAt")
            if end <= at:
                raise BadRequestData("endTimeAt must be after timeAt")
            query.start_us, query.end_us = at, end
        if timerel != "between" and end_time_at is not None:
            raise BadRequestData(f"endTimeAt goes with timerel=between, not {timerel}")
        return query

    @property
    def origin_us(self) -> int | None:
        """Where aggregation periods start: timeAt."""
        return self.start_us


def _instant(text: str, name: str) -> int:
    if not isinstance(text, str) or "T" not in text.upper():
        raise BadRequestData(f"{name} must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z, not {text!r}")
    try:
        return parse_timestamp(text)
    except FutagoError as exc:
        raise BadRequestData(f"{name}: {exc.problems[0].message if exc.problems else exc.detail}") from exc


def _last_n(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1 or (isinstance(value, float) and not value.is_integer()):
        raise BadRequestData(f"lastN is a positive integer, not {value!r}")
    return number


@dataclass
class Representation:
    """How temporal attributes are written: normalized instances, temporalValues, or aggregated."""

    form: str = "normalized"  # normalized | temporalValues | aggregatedValues
    methods: list[str] = field(default_factory=list)
    period_us: int | None = None  # None: one period, the whole interval
    sys_attrs: bool = False
    pick: list[str] | None = None  # the members (compacted names, id and type included) kept by ``pick``
    omit: list[str] | None = None  # those left out by ``omit``
    terms: TermMap = field(default_factory=TermMap)  # the caller's context: kept-apart instances are compacted by it


@dataclass
class TemporalEntity:
    id: str
    type: str
    extra_types: list[str]
    attrs: dict[str, Any]  # expanded IRI -> the attribute as answered (compacted by the route)
    range_us: tuple[int, int] | None = None  # where an attribute was cut at MAX_INSTANCES: what it answers


class TemporalService:
    def __init__(self, ngsild: NgsiLdService, telemetry: TelemetryService) -> None:
        self.ngsild = ngsild
        self.telemetry = telemetry
        self.store = telemetry.store
        self.instances = self.store if isinstance(self.store, InstanceStore) else None

    # reading --------------------------------------------------------------------------------------------------
    def series_of(self, twin_id: str, model: str) -> dict[str, str]:
        """Attribute IRI -> series name for each telemetry series of a twin (QC flags and raw values left out)."""
        names = names_of(self.ngsild.models.models, model)
        return {
            names.get(s) or DEFAULT_VOCAB + s: s
            for s in sorted(self.store.series_names(twin_id))
            if QC_SEPARATOR not in s
        }

    def history_of(self, twin_id: str, model: str) -> set[str]:
        """The attributes of a twin with a temporal evolution: its telemetry series and its instances kept apart."""
        found = set(self.series_of(twin_id, model))
        return found | self.instances.temporal_instance_attrs(twin_id) if self.instances is not None else found

    def entity(
        self,
        twin_id: str,
        state: EntityState,
        time: TimeQuery,
        shape: Representation,
        attrs: set[str] | None = None,
        telemetry_readable: bool = True,
    ) -> TemporalEntity:
        found = TemporalEntity(state.id, state.type, state.extra_types, {})
        if not telemetry_readable:
            return found
        readings: dict[str, SeriesData] = {}
        apart = self._apart_attrs(twin_id, time)
        # a reading has one time, its own: it has no deletedAt (telemetry is not deleted instance by instance)
        series = self.series_of(twin_id, state.model) if time.time_property != "deletedAt" else {}
        for iri, name in series.items():
            if attrs is not None and iri not in attrs:
                continue
            data = self.store.read_series(twin_id, name, time.start_us, time.end_us)
            if not len(data):
                continue
            if iri in apart:
                readings[iri] = data  # joined below with the instances kept apart
                continue
            if shape.form == "aggregatedValues":  # over the newest N readings under lastN, as kept instances
                newest = _window(data, time.last_n)[0] if time.last_n is not None else data
                found.attrs[iri] = self._aggregated(newest, time, shape)
                continue
            data, cut = _window(data, time.last_n)
            if cut:
                _cut_at(found, int(data.ts[0]), int(data.ts[-1]))
            found.attrs[iri] = self._instances(twin_id, name, data, shape)
        for iri, count in sorted(apart.items()):
            if attrs is None or iri in attrs:
                self._join_apart(found, (twin_id, iri, count), readings.get(iri), time, shape)
        return found

    def _apart_attrs(self, twin_id: str, time: TimeQuery) -> dict[str, int]:
        """Attribute IRI -> instances kept apart in the interval (none under timeproperty=deletedAt: futago
        deletes instances, it does not keep them as deleted)."""
        if self.instances is None or time.time_property == "deletedAt":
            return {}
        return self.instances.temporal_instance_counts(twin_id, time.time_property, time.start_us, time.end_us)

    def _apart_rows(self, twin_id: str, iri: str, time: TimeQuery) -> list[ti.Kept]:
        assert self.instances is not None
        limit = min(time.last_n or MAX_INSTANCES, MAX_INSTANCES)
        window = (time.start_us, time.end_us)
        newest = time.last_n is not None
        rows = self.instances.temporal_instances(twin_id, iri, time.time_property, window, limit, newest)
        return [ti.kept(r) for r in (reversed(rows) if newest else rows)]

    def _join_apart(
        self,
        found: TemporalEntity,
        where: tuple[str, str, int],
        data: SeriesData | None,
        time: TimeQuery,
        shape: Representation,
    ) -> None:
        """An attribute with instances kept apart, joined with its telemetry readings (``data``) where it has some.
        ``lastN`` keeps the newest N of both together, in every representation."""
        twin_id, iri, count = where
        rows = self._apart_rows(twin_id, iri, time)
        if time.last_n is None and count > MAX_INSTANCES:
            _cut_at(found, rows[0].at(time.time_property), rows[-1].at(time.time_property))
        if data is not None:
            if time.last_n is not None:
                rows, data = _newest_of_both(rows, data, time)
            elif shape.form != "aggregatedValues":  # aggregation reads the whole interval, as for telemetry alone
                data, cut = _window(data, None)
                if cut:
                    _cut_at(found, int(data.ts[0]), int(data.ts[-1]))
        readings = list(zip(data.ts.tolist(), _values(data), strict=True)) if data is not None else []
        if shape.form == "aggregatedValues":
            window = (time.origin_us, shape.period_us, time.end_us)
            found.attrs[iri] = ti.single(
                ti.aggregated(rows, shape.terms, time.time_property, window, shape.methods, readings)
            )
        elif shape.form == "temporalValues":
            found.attrs[iri] = ti.single(ti.temporal_values(rows, shape.terms, time.time_property, readings))
        else:
            shown = ti.normalized(rows, shape.terms, shape.sys_attrs)
            if data is not None:
                series = self._series_name_of(twin_id, iri)
                both = [(r.at(time.time_property), i) for r, i in zip(rows, shown, strict=True)]
                both += [(parse_timestamp(i["observedAt"]), i) for i in self._instances(twin_id, series, data, shape)]
                shown = [i for _, i in sorted(both, key=lambda p: p[0])]
            found.attrs[iri] = shown

    def _series_name_of(self, twin_id: str, iri: str) -> str:
        twin = self.ngsild.twins.store.get_twin(twin_id)
        return self._series_name(twin, iri) if twin is not None else local_name(iri)

    def _instances(self, twin_id: str, series: str, data: SeriesData, shape: Representation) -> Any:
        values = _values(data)
        ts = data.ts.tolist()
        if shape.form == "temporalValues":
            return {"type": "Property", "values": [[v, answer_time(t)] for v, t in zip(values, ts, strict=True)]}
        prefix = instance_prefix(twin_id, series)
        out = []
        for value, t in zip(values, ts, strict=True):
            out.append({"type": "Property", "value": value, "observedAt": answer_time(t), "instanceId": f"{prefix}{t}"})
        return out

    @staticmethod
    def _aggregated(data: SeriesData, time: TimeQuery, shape: Representation) -> dict[str, Any]:
        origin = time.origin_us if time.origin_us is not None else int(data.ts[0])
        # an open interval ends with its last reading; one period (no aggrPeriodDuration) is the whole interval.
        # With aggrPeriodDuration every period of an open interval is that long (4.5.19), the last one too.
        until = time.end_us if time.end_us is not None else int(data.ts[-1])
        if shape.period_us is not None:
            return {"type": "Property", **aggregate(data, shape.methods, origin, shape.period_us, time.end_us)}
        return {"type": "Property", **aggregate(data, shape.methods, origin, until - origin + 1, until)}

    def retrieve(
        self,
        tenant: str | None,
        entity_id: str,
        time: TimeQuery,
        shape: Representation,
        attrs: set[str] | None = None,
        readable: Readable = _everything,
        telemetry_readable: bool = True,
    ) -> TemporalEntity:
        self.ngsild.require_tenant(tenant)
        self.ngsild.check_id(entity_id)
        twin = self.ngsild.twins.store.get_twin(self.ngsild.tenant_twin_id(tenant, entity_id))
        shown = readable(twin) if twin is not None else None
        if shown is None:
            raise _missing(entity_id)
        if attrs is not None and telemetry_readable and not self.history_of(shown.id, shown.model) & attrs:
            # 5.7.3: none of the requested attributes has a temporal evolution (at any time)
            raise ResourceNotFound(f"entity '{entity_id}' has no temporal attribute among those requested (attrs)")
        return self.entity(shown.id, self.ngsild.state_of(tenant, shown), time, shape, attrs, telemetry_readable)

    def query(
        self,
        tenant: str | None,
        selectors: list[EntityQuery],
        time: TimeQuery,
        shape: Representation,
        page: tuple[int, int],
        attrs: set[str] | None = None,
        readable: Readable = _everything,
        telemetry_readable: Callable[[str], bool] = lambda twin_id: True,
    ) -> tuple[list[TemporalEntity], int]:
        """One page (offset, limit) of the entities any selector matches, in id order, and how many match. The
        selectors' q and geo-queries are decided on the entities as they are now (the query helper's
        ``querying.matching``); ``attrs`` keeps the entities with a history of at least one of them; with a
        timerel, an entity with no instance in the interval is left out (4.11: it does not match)."""
        self.ngsild.require_tenant(tenant)
        offset, limit = page
        found: list[TemporalEntity] = []
        total = 0
        scans = (matching(self.ngsild, tenant, dataclasses.replace(s, attrs=None), readable, None) for s in selectors)
        for state in _union(scans):
            twin_id = self.ngsild.tenant_twin_id(tenant, state.id)
            readable_series = telemetry_readable(twin_id)
            if attrs is not None and not (readable_series and self.history_of(twin_id, state.model) & attrs):
                continue
            if total >= offset and len(found) < limit:
                entity = self.entity(twin_id, state, time, shape, attrs, readable_series)
                if time.timerel is not None and not entity.attrs:
                    continue
                found.append(entity)
            elif time.timerel is not None and not self._has_instances(twin_id, state, time, attrs, readable_series):
                continue
            total += 1
        return found, total

    def _has_instances(
        self, twin_id: str, state: EntityState, time: TimeQuery, attrs: set[str] | None, readable: bool
    ) -> bool:
        """Whether an entity past the page has an instance in the interval: 4.11, an entity without one does
        not match a temporal query, so it is neither answered nor counted."""
        probe = dataclasses.replace(time, last_n=1)
        return bool(self.entity(twin_id, state, probe, Representation("normalized"), attrs, readable).attrs)

    # writing --------------------------------------------------------------------------------------------------
    def parse(self, document: Any, terms: TermMap, entity_id: str | None = None) -> EntityState:
        """A temporal entity (or, with ``entity_id``, a fragment of attributes): each attribute an array of
        Property instances, each with observedAt."""
        if not isinstance(document, dict):
            raise BadRequestData(
                "a temporal entity is a JSON object"
                if entity_id is None
                else "the temporal attributes are a JSON object"
            )
        if entity_id is None:
            state = self.ngsild.parse_entity({k: v for k, v in document.items() if k in ENTITY_MEMBERS}, terms)
        else:
            if "id" in document and document["id"] != entity_id:
                raise BadRequestData(f"the body's id '{document['id']}' differs from the URL's '{entity_id}'")
            state = EntityState(entity_id, "")
        for key, data in document.items():
            if key in ENTITY_MEMBERS:
                continue
            if not isinstance(key, str) or not key or any(c in key for c in "<>\"'=;()") or key.isspace():
                raise BadRequestData(f"{key!r} is not a valid attribute name")
            items = data if isinstance(data, list) and data and all(isinstance(d, dict) for d in data) else [data]
            instances = [parse_instance(key, d, terms, f"/{key}/{i}") for i, d in enumerate(items)]
            for instance in instances:
                _check_instance(key, instance)
            state.attrs.setdefault(terms.expand(key), []).extend(instances)
        if sum(len(i) for i in state.attrs.values()) > ti.MAX_WRITE:
            raise BadRequestData(f"one request adds at most {ti.MAX_WRITE} temporal instances")
        return state

    def write(self, tenant: str | None, state: EntityState, create_type: bool) -> bool:
        """Store each instance as a reading; create the entity first where it does not exist (its attributes the
        newest instance of each). Returns whether the entity was created."""
        self.ngsild.check_tenant(tenant)
        twin_id = self.ngsild.tenant_twin_id(tenant, state.id)
        created = False
        twin = self.ngsild.twins.store.get_twin(twin_id)
        if twin is None:
            if not create_type:
                raise _missing(state.id)  # 404, or 400 for an id that is no URI (5.6.12.4)
            self.ngsild.create(tenant, self._current(state))
            twin = self.ngsild.twins.store.get_twin(twin_id)
            created = True
        assert twin is not None
        rows: list[Reading] = []
        kinds: dict[str, ValueKind] = {}
        now = _now_us()
        apart = [
            ti.new_row(twin_id, iri, i, now)
            for iri, instances in state.attrs.items()
            for i in instances
            if ti.kept_apart(i)
        ]
        for iri, instances in state.attrs.items():
            plain = [i for i in instances if not ti.kept_apart(i)]
            if not plain:
                continue
            series = self._series_name(twin, iri)
            kinds[series] = self._kind(twin, series, [i["value"] for i in plain])
            rows += [Reading(twin_id, series, parse_timestamp(i["observedAt"]), i["value"]) for i in plain]
        try:  # all or nothing: a refusal of the kept instances (a full attribute) leaves no readings behind
            with self._transaction():
                if rows:
                    self.telemetry.append(rows, kind_of=lambda t, name: kinds[name])
                if apart:
                    self._instance_store().add_temporal_instances(apart, ti.MAX_PER_ATTRIBUTE)
        except FutagoError as exc:
            raise BadRequestData(exc.detail, exc.problems) from exc
        return created

    def _instance_store(self) -> InstanceStore:
        if self.instances is None:
            raise BadRequestData("this store keeps telemetry only: send Property instances without datasetId")
        return self.instances

    def _current(self, state: EntityState) -> EntityState:
        """The entity a temporal create makes: each attribute's newest instance as its value, except what the
        model declares as telemetry (that is history only, as in the twin API)."""
        telemetry = self._declared_telemetry(state.type)
        attrs = {iri: _newest(instances) for iri, instances in state.attrs.items() if local_name(iri) not in telemetry}
        return EntityState(state.id, state.type, attrs, extra_types=state.extra_types)

    def _declared_telemetry(self, model_id: str) -> frozenset[str]:
        models = self.ngsild.models.models
        return frozenset(models[model_id].telemetry) if model_id in models else frozenset()

    def _series_name(self, twin: Twin, iri: str) -> str:
        """The series of an attribute: the DTDL name the twin's model gives its IRI, or the IRI's local name."""
        names = {i: n for n, i in names_of(self.ngsild.models.models, twin.model).items()}
        return names.get(iri) or local_name(iri)

    def _kind(self, twin: Twin, series: str, values: list[Any]) -> ValueKind:
        """A declared telemetry keeps its model's kind (its values are checked by it); any other series holds
        numbers while only numbers came, and JSON values from the first other value on."""
        if series in self._declared_telemetry(twin.model):
            return self.telemetry.kind_of(twin.id, series)
        have = (
            self.store.read_series(twin.id, series, 0, 0).kind if series in self.store.series_names(twin.id) else None
        )
        if all(_number(v) for v in values) and have in (None, "f8", "i8"):
            return have or "f8"
        if all(isinstance(v, bool) for v in values) and have in (None, "b1"):
            return "b1"
        return "json"

    def delete_attribute(
        self, tenant: str | None, entity_id: str, attr_iri: str, dataset_id: str | None = None, every: bool = False
    ) -> None:
        """6.21: the instances of the default instance (no datasetId), of one datasetId, or (``every``, deleteAll)
        all of them. Telemetry readings are default instances."""
        twin = self._twin(tenant, entity_id)
        series = self.series_of(twin.id, twin.model).get(attr_iri)
        gone = 0
        if series is not None and dataset_id is None:
            self.store.delete_series(twin.id, series)
            gone += 1
        if self.instances is not None:
            dataset = None if every else dataset_id or ""
            gone += self.instances.delete_temporal_instances(twin.id, attr_iri, dataset_id=dataset)
        if not gone:
            which = f" with datasetId {dataset_id}" if dataset_id is not None else ""
            raise ResourceNotFound(f"entity '{entity_id}' has no temporal attribute {attr_iri}{which}")

    def change_instance(
        self, tenant: str | None, entity_id: str, attr_iri: str, instance_id: str, new: Instance | None
    ) -> None:
        """Delete one instance (``new`` None) or change its value (and time). The store keeps one reading per
        time, so a change at the same time is an overwrite; anything else rewrites the series in one
        transaction."""
        if not readable_uri(instance_id):
            raise BadRequestData(f"an instanceId is a URI, not {instance_id!r}")
        twin = self._twin(tenant, entity_id)
        if not instance_id.startswith(INSTANCE_PREFIX):
            self._change_kept(twin, (entity_id, attr_iri, instance_id), new)
            return
        if new is not None and ti.kept_apart(new):  # a reading given a datasetId, unit or kind: moved apart
            old = self._reading(twin, attr_iri, instance_id)
            try:  # the reading goes only if its instance is kept (a full attribute refuses it)
                with self._transaction():
                    self.change_instance(tenant, entity_id, attr_iri, instance_id, None)
                    self._instance_store().add_temporal_instances(
                        [ti.new_row(twin.id, attr_iri, {"type": "Property", **old, **new}, _now_us())],
                        ti.MAX_PER_ATTRIBUTE,
                    )
            except FutagoError as exc:
                raise BadRequestData(exc.detail, exc.problems) from exc
            return
        series = self.series_of(twin.id, twin.model).get(attr_iri)
        prefix = instance_prefix(twin.id, series or "")
        at = _instance_time(instance_id, prefix) if series is not None else None
        data = self.store.read_series(twin.id, series, at, at + 1) if series is not None and at is not None else None
        if series is None or at is None or data is None or not len(data):
            raise ResourceNotFound(f"entity '{entity_id}' has no instance {instance_id} of {attr_iri}")
        if new is not None:
            _check_instance(attr_iri, {"observedAt": new.get("observedAt") or format_timestamp(at), **new})
            moved = parse_timestamp(new["observedAt"]) if "observedAt" in new else at
            if moved == at:
                kind = self._kind(twin, series, [new["value"]])
                self.telemetry.append([Reading(twin.id, series, at, new["value"])], kind_of=lambda t, n: kind)
                return
        with self._transaction():
            whole = self.store.read_series(twin.id, series, None, None)
            keep = whole.ts != at
            self.store.delete_series(twin.id, series)
            kept = zip(whole.ts[keep].tolist(), _kept(whole, keep), whole.quality[keep].tolist(), strict=True)
            rows = [Reading(twin.id, series, t, v, int(q)) for t, v, q in kept]
            if new is not None:
                rows.append(Reading(twin.id, series, moved, new["value"], QUALITY_NOT_EVALUATED))
            kind = self._kind(twin, series, [r.value for r in rows]) if rows else whole.kind
            batches = self.telemetry.prepare(rows, kind_of=lambda t, n: kind) if rows else []
            if batches:
                self.store.append_series(batches)

    def _reading(self, twin: Twin, attr_iri: str, instance_id: str) -> Instance:
        series = self.series_of(twin.id, twin.model).get(attr_iri) or ""
        at = _instance_time(instance_id, instance_prefix(twin.id, series))
        data = self.store.read_series(twin.id, series, at, at + 1) if series and at is not None else None
        if data is None or not len(data) or at is None:
            raise ResourceNotFound(f"no instance {instance_id} of {attr_iri}")
        return {"value": _values(data)[0], "observedAt": format_timestamp(at)}

    def _change_kept(self, twin: Twin, where: tuple[str, str, str], new: Instance | None) -> None:
        """Delete (``new`` None) or change an instance kept apart; it keeps its instanceId and createdAt."""
        entity_id, attr_iri, instance_id = where
        store = self.instances
        row = store.get_temporal_instance(twin.id, attr_iri, instance_id) if store is not None else None
        if store is None or row is None:
            raise ResourceNotFound(f"entity '{entity_id}' has no instance {instance_id} of {attr_iri}")
        if new is None:
            store.delete_temporal_instances(twin.id, attr_iri, instance_id)
            return
        old = ti.kept(row)
        instance = ti.merged(old.instance, new)
        _check_instance(attr_iri, instance)
        body = ti.new_row(twin.id, attr_iri, instance, old.created_us)
        changed = (instance_id, body[3], body[4], old.created_us, _now_us(), body[7])
        store.replace_temporal_instance(twin.id, attr_iri, changed)

    def _transaction(self) -> AbstractContextManager[None]:
        begin = getattr(self.store, "transaction", None)
        return begin() if callable(begin) else nullcontext()

    def require_entity(self, tenant: str | None, entity_id: str) -> None:
        self._twin(tenant, entity_id)

    def _twin(self, tenant: str | None, entity_id: str) -> Twin:
        self.ngsild.check_tenant(tenant)
        self.ngsild.check_id(entity_id)
        twin = self.ngsild.twins.store.get_twin(self.ngsild.tenant_twin_id(tenant, entity_id))
        if twin is None:
            raise _missing(entity_id)
        return twin


def _cut_at(found: TemporalEntity, first: int, last: int) -> None:
    """An attribute was cut at MAX_INSTANCES: the answer covers up to its last instance (the earliest such end)."""
    found.range_us = (
        (first, last) if found.range_us is None else (min(found.range_us[0], first), min(found.range_us[1], last))
    )


def _missing(entity_id: str) -> NgsiLdError:
    """No twin has this id: a 404, unless the id is no URI at all, which can name no NGSI-LD entity (400). A twin
    made through the twin API (``pump-1``) is still found by its id: only an id nothing has is judged."""
    if not readable_uri(entity_id):
        return BadRequestData(f"an entity id must be a URI (e.g. urn:ngsi-ld:Type:001), not {entity_id!r}")
    return ResourceNotFound(f"entity '{entity_id}' does not exist")


def instance_prefix(twin_id: str, series: str) -> str:
    """Instance ids of a series: a digest of the twin and series, then the reading's time in microseconds."""
    digest = hashlib.sha256(f"{twin_id}\x00{series}".encode()).hexdigest()[:16]
    return f"{INSTANCE_PREFIX}{digest}:"


def _instance_time(instance_id: str, prefix: str) -> int | None:
    if not instance_id.startswith(prefix):
        return None
    tail = instance_id[len(prefix) :]
    return int(tail) if tail.lstrip("-").isdecimal() and len(tail) < 20 else None


def _check_instance(name: str, instance: Instance) -> None:
    """A temporal instance: any attribute kind with its value member (parse_instance checked it), at an observedAt."""
    if VALUE_MEMBER.get(instance.get("type", "Property"), "value") not in instance:
        raise BadRequestData(f"'{name}': a temporal instance needs a value")
    observed = instance.get("observedAt")
    if not isinstance(observed, str):
        raise BadRequestData(f"'{name}': each temporal instance needs observedAt (the time of the reading)")
    _instant(observed, "observedAt")


def _newest(instances: list[Instance]) -> list[Instance]:
    """The entity's attribute made by a temporal create: the newest instance of each datasetId."""
    newest: dict[str | None, Instance] = {}
    for instance in sorted(instances, key=lambda i: parse_timestamp(i["observedAt"])):
        newest[instance.get("datasetId")] = {k: v for k, v in instance.items() if k != "instanceId"}
    return list(newest.values())


def _now_us() -> int:
    return time_ns() // 1000


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _values(data: SeriesData) -> list[Any]:
    if data.kind == "json":
        return [answer_value(v) for v in data.values]
    return [answer_value(v) for v in np.asarray(data.values).tolist()]


def _kept(data: SeriesData, keep: Any) -> list[Any]:
    values = _values(data)
    return [v for v, k in zip(values, keep.tolist(), strict=True) if k]


def _window(data: SeriesData, last_n: int | None) -> tuple[SeriesData, bool]:
    """lastN keeps the newest N readings (in time order); without it an answer holds at most MAX_INSTANCES."""
    if last_n is not None and len(data) > last_n:
        return _slice(data, len(data) - last_n, len(data)), False
    if len(data) > MAX_INSTANCES:
        return _slice(data, 0, MAX_INSTANCES), True
    return data, False


def _newest_of_both(rows: list[ti.Kept], data: SeriesData, time: TimeQuery) -> tuple[list[ti.Kept], SeriesData]:
    """lastN over an attribute's kept instances and its readings together: the newest N of the two, each still in
    time order (both come oldest first, so what is kept of each is its newest part). At equal times a reading
    counts as the newer, as in the normalized answer's order."""
    n = time.last_n or 0
    merged = sorted([(r.at(time.time_property), 0) for r in rows] + [(t, 1) for t in data.ts[-n:].tolist()])[-n:]
    readings = sum(source for _, source in merged)
    kept = len(merged) - readings
    return rows[len(rows) - kept :], _slice(data, len(data) - readings, len(data))


def _slice(data: SeriesData, lo: int, hi: int) -> SeriesData:
    return SeriesData(data.kind, data.ts[lo:hi], data.values[lo:hi], data.quality[lo:hi])


def _union(scans: Iterator[Iterator[EntityState]]) -> Iterator[EntityState]:
    """Entities of several id-ordered scans, in id order, each once."""
    seen: str | None = None
    for state in heapq.merge(*scans, key=lambda e: e.id):
        if state.id != seen:
            seen = state.id
            yield state
