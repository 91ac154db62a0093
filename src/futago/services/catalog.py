"""The data catalog: every dataset in this store, with its licence and provenance, like a CKAN/DCAT entry.

Four kinds of entry:

- ``city_import``: one per city import, from the dataset record the import stored (source files with
  SHA-256, format, CRS, counts of twins created, licence given or defaulted per source);
- ``telemetry``: one per twin with stored readings (readings, series, first and last time), with the
  connections whose mappings can write those series;
- ``derived``: one per behaviour, the derived telemetry it writes (model and version, inputs, last run);
- ``models``: the DTDL models, one entry per DTMI namespace (``dtmi:futago:city``).

Every entry has the same keys: ``id``, ``title``, ``kind``, ``licence``, ``licenceUrl``, ``provenance``,
``records`` (counts) and ``updated``. Telemetry and derived data carry no licence of their own
(``unspecified``): their owner is whoever runs this store.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from futago import __version__
from futago.core.errors import InvalidInput, NotFound
from futago.core.events import telemetry_resource, twin_resource
from futago.core.ports import ConnectionStore, DatasetStore, SeriesStats, SimStore, TwinStore
from futago.core.problems import Problem
from futago.core.records import JsonRecord, json_meta
from futago.core.telemetry import format_timestamp
from futago.core.twins import TwinScan
from futago.services.datasets import CITY_IMPORT, UNSPECIFIED

if TYPE_CHECKING:
    from futago.ingest.connections import ConnectionManager
    from futago.sim.behaviours import BehaviourSpec
    from futago.sim.runtime import BehaviourRuntime

TELEMETRY = "telemetry"
DERIVED = "derived"
MODELS = "models"
OPEN_DATA = "open_data"  # what ``futago export`` published (services/open_data.py)
KINDS: tuple[str, ...] = (CITY_IMPORT, TELEMETRY, DERIVED, MODELS, OPEN_DATA)
#: Models in these namespaces ship with futago, under its licence.
FUTAGO_NAMESPACE = "dtmi:futago:"
FUTAGO_LICENCE = ("Apache-2.0 (futago)", "https://www.apache.org/licenses/LICENSE-2.0")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_USERINFO = re.compile(r"(?<=//)[^/@]*@")
PAGE = 1000  # twins scanned at a time when counting those a caller may read


def check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise InvalidInput([Problem("/kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")])


def _entry(
    entry_id: str,
    title: str,
    kind: str,
    provenance: dict[str, Any],
    records: dict[str, int],
    updated: str | None,
    licence: tuple[str, str | None] = (UNSPECIFIED, None),
) -> dict[str, Any]:
    return {
        "id": entry_id,
        "title": title,
        "kind": kind,
        "licence": licence[0],
        "licenceUrl": licence[1],
        "provenance": provenance,
        "records": records,
        "updated": updated,
    }


def _template(template: str | None) -> re.Pattern[str]:
    """A mapping's twin or telemetry template (``river-{station}``) as a pattern of the names it can make."""
    if not template:
        return re.compile(r".+\Z")
    parts, last = [], 0
    for found in _PLACEHOLDER.finditer(template):
        parts += [re.escape(template[last : found.start()]), ".+"]
        last = found.end()
    return re.compile("".join([*parts, re.escape(template[last:])]) + r"\Z")


@dataclass(frozen=True)
class _Source(JsonRecord):
    """A connection as provenance: its name, type and endpoint (never credentials), and what it can write."""

    name: str = field(metadata=json_meta("connection"))
    type: str
    endpoint: str | None
    writes: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = field(metadata=json_meta(skip=True))

    @classmethod
    def of(cls, name: str, config: dict[str, Any]) -> _Source:
        options = config.get("options") if isinstance(config.get("options"), dict) else {}
        assert isinstance(options, dict)
        kind = str(config.get("type", ""))
        endpoint: str | None = None
        if kind == "mqtt":
            tls = bool(options.get("tls"))
            host, port = options.get("host", "localhost"), options.get("port", 8883 if tls else 1883)
            endpoint = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        elif kind == "opcua" and isinstance(options.get("endpoint"), str):
            endpoint = options["endpoint"]
        elif kind == "replay" and isinstance(options.get("path"), str):
            endpoint = options["path"]
        mappings = config.get("mappings") if isinstance(config.get("mappings"), list) else []
        assert isinstance(mappings, list)
        writes = tuple(
            (_template(m.get("twin")), _template(m.get("telemetry"))) for m in mappings if isinstance(m, dict)
        )
        return cls(name, kind, _USERINFO.sub("", endpoint) if endpoint else None, writes)

    def can_write(self, twin_id: str, name: str) -> bool:
        return any(twin.match(twin_id) and tele.match(name) for twin, tele in self.writes)


def _namespace(model_id: str) -> str:
    path = model_id.split(";", 1)[0]
    return path.rsplit(":", 1)[0] if path.count(":") > 1 else path


def _range(stats: Sequence[SeriesStats]) -> tuple[int, int]:
    return min(s.first_us for s in stats), max(s.last_us for s in stats)


class CatalogStore(DatasetStore, TwinStore, SimStore, ConnectionStore, Protocol):
    """The roles the catalog reads: dataset records and series summaries, the twins and models they describe,
    behaviour runs (a derived series' provenance) and connections (a measured series' source)."""


class CatalogService:
    """Lists the catalog from the store, the behaviour runtime and the connections (both optional).

    ``may_read`` answers whether the caller may read a resource (``twins/<id>/telemetry``, ``behaviours/<name>``,
    ``models/<dtmi>``; None: everything): what it may not read is absent, counts included, exactly as if it did not
    exist, so that the catalog is no side door to hidden twins, their series or models."""

    def __init__(
        self,
        store: CatalogStore,
        behaviours: BehaviourRuntime | None = None,
        connections: ConnectionManager | None = None,
        may_read: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.behaviours = behaviours
        self.connections = connections
        self.may_read = may_read

    def as_seen_by(self, may_read: Callable[[str], bool] | None) -> CatalogService:
        """The catalog as one caller may read it (``may_read``; None: everything), over the same sources."""
        return CatalogService(self.store, self.behaviours, self.connections, may_read)

    def _sees(self, resource: str) -> bool:
        return self.may_read is None or self.may_read(resource)

    def _sees_telemetry(self, twin_id: str) -> bool:
        """As GET /twins/{id} and GET /twins/{id}/telemetry both would answer."""
        return self._sees(twin_resource(twin_id)) and self._sees(telemetry_resource(twin_id))

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The catalog, in the order of ``KINDS`` and then by id; of one kind when ``kind`` is given."""
        check_kind(kind)
        wanted = KINDS if kind is None else (kind,)
        out: list[dict[str, Any]] = []
        if CITY_IMPORT in wanted:
            out += self._stored(CITY_IMPORT)
        if TELEMETRY in wanted or DERIVED in wanted:
            measured, derived = self._telemetry_and_derived()
            out += measured if TELEMETRY in wanted else []
            out += derived if DERIVED in wanted else []
        if MODELS in wanted:
            out += self._models()
        if OPEN_DATA in wanted:
            out += self._stored(OPEN_DATA)
        return out

    def entry(self, entry_id: str) -> dict[str, Any]:
        """One entry by id (its kind is the id's prefix); NotFound when there is none."""
        kind = next((k for k in KINDS if entry_id.startswith(f"{k}:")), None)
        for entry in self.entries(kind) if kind else []:
            if entry["id"] == entry_id:
                return entry
        raise NotFound(f"the catalog has no dataset '{entry_id}'; GET /catalog lists them")

    # city imports and open-data exports: records written when they happened --------------------
    def _stored(self, kind: str) -> list[dict[str, Any]]:
        return [record.to_json() for record in self.store.list_datasets(kind)]

    # telemetry and derived telemetry ------------------------------------------------------------
    def _derived_outputs(self) -> list[tuple[BehaviourSpec, set[str], list[str]]]:
        """(spec, output stems, attached twins) of every behaviour."""
        if self.behaviours is None:
            return []
        return [
            (
                spec,
                set(spec.output_names().values()),
                [t for t in self.behaviours.twins_of(spec) if self._sees_telemetry(t)],
            )
            for spec in self.behaviours.all()
            if self._sees(f"behaviours/{spec.name}")
        ]

    def _sources(self) -> list[_Source]:
        configs = dict(self.store.list_connections())
        if self.connections is not None:  # also those from the settings file, which are not stored
            configs.update({c["name"]: c for c in self.connections.list()})
        return [_Source.of(name, config) for name, config in sorted(configs.items())]

    def _telemetry_and_derived(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        behaviours = self._derived_outputs()
        written_by: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # twin → stem → names
        for spec, stems, twins in behaviours:
            for twin_id in twins:
                for stem in stems:
                    written_by[twin_id][stem].append(spec.name)
        measured: dict[str, list[SeriesStats]] = defaultdict(list)
        derived: dict[str, list[SeriesStats]] = defaultdict(list)
        for stats in self.store.series_stats():
            if not self._sees_telemetry(stats.twin_id):
                continue
            owners = written_by.get(stats.twin_id, {}).get(stats.name.split("~", 1)[0], [])
            if owners:
                for owner in owners:
                    derived[owner].append(stats)
            else:
                measured[stats.twin_id].append(stats)
        return self._telemetry(measured), [
            self._derived(spec, twins, derived[spec.name]) for spec, _, twins in behaviours
        ]

    def _telemetry(self, by_twin: dict[str, list[SeriesStats]]) -> list[dict[str, Any]]:
        twins = self.store.get_twins(by_twin)
        sources = self._sources()
        out = []
        for twin_id in sorted(by_twin):
            series = by_twin[twin_id]
            first, last = _range(series)
            twin = twins.get(twin_id)
            feeding = [s.to_json() for s in sources if any(s.can_write(twin_id, x.name) for x in series)]
            provenance = {
                "twin": twin_id,
                "model": twin.model if twin else None,
                "first": format_timestamp(first),
                "last": format_timestamp(last),
                "series": [
                    {
                        "name": s.name,
                        "readings": s.readings,
                        "first": format_timestamp(s.first_us),
                        "last": format_timestamp(s.last_us),
                    }
                    for s in series
                ],
                "sources": feeding,
                "tool": "futago ingest",
                "toolVersion": __version__,
            }
            records = {"series": len(series), "readings": sum(s.readings for s in series)}
            out.append(
                _entry(
                    f"{TELEMETRY}:{twin_id}",
                    f"Telemetry of {twin_id}",
                    TELEMETRY,
                    provenance,
                    records,
                    format_timestamp(last),
                )
            )
        return out

    def _derived(self, spec: BehaviourSpec, twins: Sequence[str], series: Sequence[SeriesStats]) -> dict[str, Any]:
        runs = self.store.list_behaviour_runs(behaviour=spec.name, limit=1)
        last_run = runs[0].to_json() if runs and self._sees_telemetry(runs[0].twin_id) else None
        model = spec.model_class
        provenance: dict[str, Any] = {
            "behaviour": spec.name,
            "description": spec.description or None,
            "model": spec.model,
            "modelVersion": model.version,
            "modelKind": model.kind,
            "inputs": {column: ref.to_json() for column, ref in spec.inputs.items()},
            "measured": spec.measured,
            "outputs": sorted(set(spec.output_names().values())),
            "twins": list(twins),
            "lastRun": None
            if last_run is None
            else {k: last_run.get(k) for k in ("id", "twinId", "started", "status", "durationMs")},
            "tool": "futago behaviour runtime",
            "toolVersion": __version__,
        }
        records = {"twins": len(twins), "series": len(series), "readings": sum(s.readings for s in series)}
        if series:
            first, last = _range(series)
            provenance["first"], provenance["last"] = format_timestamp(first), format_timestamp(last)
        updated = last_run["started"] if last_run else None
        title = f"Derived telemetry of behaviour {spec.name} ({spec.model})"
        return _entry(f"{DERIVED}:{spec.name}", title, DERIVED, provenance, records, updated)

    # models -------------------------------------------------------------------------------------
    def _models(self) -> list[dict[str, Any]]:
        groups: dict[str, list[Any]] = defaultdict(list)
        for record in self.store.list_models():
            if self._sees(f"models/{record.id}"):
                groups[_namespace(record.id)].append(record)
        out = []
        for namespace in sorted(groups):
            records = groups[namespace]
            ids = [r.id for r in records]
            uploaded = sorted(r.uploaded for r in records)
            builtin = namespace.startswith(FUTAGO_NAMESPACE) or namespace == FUTAGO_NAMESPACE.rstrip(":")
            provenance = {
                "namespace": namespace,
                "format": "DTDL v3",
                "models": ids,
                "source": "futago (shipped with it)" if builtin else "uploaded",
                "firstUploaded": uploaded[0],
                "lastUploaded": uploaded[-1],
                "tool": "futago models",
                "toolVersion": __version__,
            }
            counts = {
                "models": len(records),
                "decommissioned": sum(1 for r in records if r.decommissioned),
                "twins": self._count_twins(ids),
            }
            out.append(
                _entry(
                    f"{MODELS}:{namespace}",
                    f"DTDL models {namespace}",
                    MODELS,
                    provenance,
                    counts,
                    uploaded[-1],
                    FUTAGO_LICENCE if builtin else (UNSPECIFIED, None),
                )
            )
        return out

    def _count_twins(self, model_ids: list[str]) -> int:
        if self.may_read is None:
            return self.store.count_twins_of_models(model_ids)
        count, after, wanted = 0, None, frozenset(model_ids)
        while True:  # only the twins the caller may read count: a number is a side door too
            page = self.store.scan_twins(TwinScan(model_ids=wanted, after_id=after, limit=PAGE))
            count += sum(1 for twin in page if self._sees(twin_resource(twin.id)))
            if len(page) < PAGE:
                return count
            after = page[-1].id
