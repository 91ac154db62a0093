"""The twin graph in portable SQL: models, twins, relationships.

The spatial index is the engine's own (an R*Tree table, a PostGIS column in PostgreSQL): each adapter
subclasses ``SqlTwins`` with the hooks that keep it and ask it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from futago.core.errors import Conflict, NotFound, PreconditionFailed
from futago.core.ports import ModelRecord
from futago.core.twins import Relationship, Twin, TwinScan, new_etag, now_iso
from futago.store.sql.db import Database

_TWIN_COLUMNS = "id, model, etag, updated, properties, geometry"
_REL_COLUMNS = "source_id, id, name, target_id, etag, properties"
_REL_UPSERT = (
    "ON CONFLICT (source_id, id) DO UPDATE SET name = excluded.name, target_id = excluded.target_id, "
    "etag = excluded.etag, properties = excluded.properties"
)
_loads = orjson.loads


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _twin(row: tuple[Any, ...]) -> Twin:
    return Twin(
        id=row[0],
        model=row[1],
        etag=row[2],
        last_updated=row[3],
        properties=_loads(row[4]),
        geometry=_loads(row[5]) if row[5] is not None else None,
    )


def _relationship(row: tuple[Any, ...]) -> Relationship:
    return Relationship(
        source_id=row[0], id=row[1], name=row[2], target_id=row[3], etag=row[4], properties=_loads(row[5])
    )


def _check_preconditions(
    kind: str, key: str, current_etag: str | None, if_match: str | None, if_none_match: str | None
) -> None:
    if if_none_match == "*" and current_etag is not None:
        raise PreconditionFailed(f"{kind} '{key}' already exists, and If-None-Match: * asked it not to")
    if if_match is not None:
        if current_etag is None:
            raise PreconditionFailed(f"{kind} '{key}' does not exist, but If-Match asked for it")
        if if_match != "*" and if_match != current_etag:
            raise PreconditionFailed(f"{kind} '{key}' has ETag {current_etag}, not {if_match}: read it again and retry")


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


# Rows per statement of a bulk upsert (6 parameters each: 3,000, within both engines' limits). Many rows per
# statement rather than one statement per row (executemany): SQLite's module lets go of the GIL for each statement
# and must win it back after, which beside a busy thread (the audit writer, the API) costs up to a switch interval
# (5 ms) per row; and both engines parse and plan the statement once per chunk.
_UPSERT_ROWS = 500


@functools.lru_cache(maxsize=8)
def _upsert_twins_sql(rows: int) -> str:
    return (
        "INSERT INTO twins (id, model, etag, updated, properties, geometry) VALUES "
        + ",".join(["(?, ?, ?, ?, ?, ?)"] * rows)
        + " ON CONFLICT (id) DO UPDATE SET model = excluded.model, etag = excluded.etag, "
        "updated = excluded.updated, properties = excluded.properties, geometry = excluded.geometry"
    )


class SqlTwins:
    def __init__(self, db: Database) -> None:
        self.db = db

    # the spatial index: what each adapter provides ------------------------------------------
    def _index_bounds(self, conn: Any, twins: Sequence[Twin]) -> None:
        """Inside a write: (re)index the geometry of these twins, just stored."""
        raise NotImplementedError

    def _unindex(self, conn: Any, rid: int) -> None:
        """Inside a write: forget the geometry of the twin with this row id, about to be deleted."""
        raise NotImplementedError

    def _bbox_condition(self, bbox: tuple[float, float, float, float]) -> tuple[str, list[Any]]:
        """A WHERE condition (and its parameters) keeping twins whose bounds meet the box (lon/lat, min then max)."""
        raise NotImplementedError

    def _property_condition(self, path: Sequence[str], op: str, value: Any) -> tuple[str, list[Any]]:
        """A WHERE condition on a property's value; it may keep extra rows (the query engine drops them), never
        lose one."""
        raise NotImplementedError

    def _extra_types_condition(self, types: Sequence[str]) -> tuple[str, list[Any]]:
        """A WHERE condition keeping twins whose ``$ngsild`` record's ``types`` hold one of ``types``, answered
        by the partial index of the twins that have such a record (migration V9)."""
        raise NotImplementedError

    # models -----------------------------------------------------------------------------
    def put_models(self, documents: Sequence[dict[str, Any]], uploaded: str) -> None:
        with self.db.write() as conn:
            for doc in documents:
                try:
                    conn.execute(
                        "INSERT INTO models (id, document, uploaded, decommissioned) VALUES (?, ?, ?, 0)",
                        (doc["@id"], _dumps(doc), uploaded),
                    )
                except self.db.integrity_error as exc:
                    raise Conflict(f"model '{doc['@id']}' already exists; delete it first") from exc

    def list_models(self) -> list[ModelRecord]:
        rows = self.db.read().execute("SELECT id, document, uploaded, decommissioned FROM models ORDER BY id")
        return [ModelRecord(r[0], _loads(r[1]), r[2], bool(r[3])) for r in rows]

    def get_model(self, model_id: str) -> ModelRecord | None:
        row = (
            self.db.read()
            .execute("SELECT id, document, uploaded, decommissioned FROM models WHERE id = ?", (model_id,))
            .fetchone()
        )
        return ModelRecord(row[0], _loads(row[1]), row[2], bool(row[3])) if row else None

    def delete_model(self, model_id: str) -> None:
        with self.db.write() as conn:
            if conn.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount == 0:
                raise NotFound(f"model '{model_id}' does not exist")

    def set_model_decommissioned(self, model_id: str, decommissioned: bool) -> None:
        with self.db.write() as conn:
            cur = conn.execute("UPDATE models SET decommissioned = ? WHERE id = ?", (int(decommissioned), model_id))
            if cur.rowcount == 0:
                raise NotFound(f"model '{model_id}' does not exist")

    def count_twins_of_models(self, model_ids: Iterable[str]) -> int:
        ids = list(model_ids)
        if not ids:
            return 0
        sql = f"SELECT COUNT(*) FROM twins WHERE model IN ({_placeholders(len(ids))})"
        return int(self.db.read().execute(sql, ids).fetchone()[0])

    # twins ------------------------------------------------------------------------------
    def get_twin(self, twin_id: str) -> Twin | None:
        row = self.db.read().execute(f"SELECT {_TWIN_COLUMNS} FROM twins WHERE id = ?", (twin_id,)).fetchone()
        return _twin(row) if row else None

    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]:
        ids = list(dict.fromkeys(twin_ids))
        found: dict[str, Twin] = {}
        conn = self.db.read()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT {_TWIN_COLUMNS} FROM twins WHERE id IN ({_placeholders(len(part))})"
            for row in conn.execute(sql, part):
                found[row[0]] = _twin(row)
        return found

    def put_twin(self, twin: Twin, if_match: str | None = None, if_none_match: str | None = None) -> Twin:
        stored = Twin(
            id=twin.id,
            model=twin.model,
            properties=twin.properties,
            geometry=twin.geometry,
            etag=new_etag(),
            last_updated=now_iso(),
        )
        geometry = _dumps(twin.geometry) if twin.geometry is not None else None
        with self.db.write() as conn:
            row = conn.execute(f"SELECT rid, etag FROM twins WHERE id = ?{self.db.for_update}", (twin.id,)).fetchone()
            _check_preconditions("twin", twin.id, row[1] if row else None, if_match, if_none_match)
            values = (twin.model, stored.etag, stored.last_updated, _dumps(twin.properties), geometry)
            if row:
                conn.execute(
                    "UPDATE twins SET model = ?, etag = ?, updated = ?, properties = ?, geometry = ? WHERE rid = ?",
                    (*values, row[0]),
                )
            else:
                try:
                    conn.execute(
                        "INSERT INTO twins (id, model, etag, updated, properties, geometry) VALUES (?, ?, ?, ?, ?, ?)",
                        (twin.id, *values),
                    )
                except self.db.integrity_error as exc:  # another writer created it since the check above
                    raise PreconditionFailed(f"twin '{twin.id}' was created by another writer: retry") from exc
            self._index_bounds(conn, [stored])
        return stored

    def put_twins(self, twins: Sequence[Twin]) -> list[Twin]:
        """Create or replace many twins in one transaction (bulk import; no preconditions).

        One upsert and one R*Tree refresh per batch, not per twin: this is the city importer's path.
        """
        updated = now_iso()
        etags = _new_etags(len(twins))
        stored = [Twin(t.id, t.model, t.properties, t.geometry, e, updated) for t, e in zip(twins, etags, strict=True)]
        # A twin named twice ends as the last of them, as row after row would leave it; one statement may not
        # upsert a row twice (PostgreSQL refuses).
        latest = list({t.id: t for t in stored}.values()) if len(stored) > 1 else stored
        chunks = []
        for start in range(0, len(latest), _UPSERT_ROWS):
            params: list[Any] = []
            for t in latest[start : start + _UPSERT_ROWS]:
                geometry = _dumps(t.geometry) if t.geometry is not None else None
                params += (t.id, t.model, t.etag, updated, _dumps(t.properties), geometry)
            chunks.append(params)
        with self.db.write() as conn:
            for params in chunks:
                conn.execute(_upsert_twins_sql(len(params) // 6), params)
            self._index_bounds(conn, latest)
        return stored

    def delete_twin(self, twin_id: str, if_match: str | None = None) -> None:
        with self.db.write() as conn:
            row = conn.execute(f"SELECT rid, etag FROM twins WHERE id = ?{self.db.for_update}", (twin_id,)).fetchone()
            if row is None:
                raise NotFound(f"twin '{twin_id}' does not exist")
            _check_preconditions("twin", twin_id, row[1], if_match, None)
            self._unindex(conn, row[0])
            conn.execute("DELETE FROM twins WHERE rid = ?", (row[0],))
            # The twin's NGSI-LD temporal instances go with it, in this transaction: an entity made later with the
            # same id (by anyone) must never see an earlier one's history. Its telemetry goes in the same
            # transaction too, where TwinService.delete wraps both.
            conn.execute("DELETE FROM ngsild_temporal_instances WHERE twin_id = ?", (twin_id,))

    def scan_twins(self, scan: TwinScan) -> list[Twin]:
        where: list[str] = []
        params: list[Any] = []
        if scan.model_ids is not None:
            if not scan.model_ids:
                return []
            where.append(f"model IN ({_placeholders(len(scan.model_ids))})")
            params.extend(sorted(scan.model_ids))
        if scan.twin_ids is not None:
            if not scan.twin_ids:
                return []
            where.append(f"id IN ({_placeholders(len(scan.twin_ids))})")
            params.extend(sorted(scan.twin_ids))
        if scan.extra_types is not None:
            if not scan.extra_types:
                return []
            extra_sql, extra_params = self._extra_types_condition(sorted(scan.extra_types))
            where.append(extra_sql)
            params.extend(extra_params)
        conditions = [self._bbox_condition(scan.bbox)] if scan.bbox is not None else []
        conditions += [self._property_condition(c.path, c.op, c.value) for c in scan.properties]
        for sql_condition, condition_params in conditions:
            where.append(sql_condition)
            params.extend(condition_params)
        if scan.after_id is not None:
            where.append("id > ?")
            params.append(scan.after_id)
        sql = f"SELECT {_TWIN_COLUMNS} FROM twins"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if scan.limit is not None:
            sql += " LIMIT ?"
            params.append(scan.limit)
        loads = _loads
        return [  # inlined _twin: this is the query engine's hot loop
            Twin(r[0], r[1], loads(r[4]), loads(r[5]) if r[5] is not None else None, r[2], r[3])
            for r in self.db.read().execute(sql, params)
        ]

    def count_twins(self) -> int:
        return int(self.db.read().execute("SELECT COUNT(*) FROM twins").fetchone()[0])

    # relationships ----------------------------------------------------------------------
    def get_relationship(self, source_id: str, rel_id: str) -> Relationship | None:
        row = (
            self.db.read()
            .execute(
                f"SELECT {_REL_COLUMNS} FROM relationships WHERE source_id = ? AND id = ?",
                (source_id, rel_id),
            )
            .fetchone()
        )
        return _relationship(row) if row else None

    def put_relationship(
        self, rel: Relationship, if_match: str | None = None, if_none_match: str | None = None
    ) -> Relationship:
        stored = Relationship(
            source_id=rel.source_id,
            id=rel.id,
            name=rel.name,
            target_id=rel.target_id,
            properties=rel.properties,
            etag=new_etag(),
        )
        key = f"{rel.source_id}/{rel.id}"
        with self.db.write() as conn:
            row = conn.execute(
                f"SELECT etag FROM relationships WHERE source_id = ? AND id = ?{self.db.for_update}",
                (rel.source_id, rel.id),
            ).fetchone()
            _check_preconditions("relationship", key, row[0] if row else None, if_match, if_none_match)
            conn.execute(
                f"INSERT INTO relationships ({_REL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) {_REL_UPSERT}",
                (rel.source_id, rel.id, rel.name, rel.target_id, stored.etag, _dumps(rel.properties)),
            )
        return stored

    def put_relationships(self, rels: Sequence[Relationship]) -> list[Relationship]:
        etags = _new_etags(len(rels))
        stored = [
            Relationship(r.source_id, r.id, r.name, r.target_id, r.properties, e)
            for r, e in zip(rels, etags, strict=True)
        ]
        with self.db.write() as conn:
            conn.executemany(
                f"INSERT INTO relationships ({_REL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) {_REL_UPSERT}",
                [(r.source_id, r.id, r.name, r.target_id, r.etag, _dumps(r.properties)) for r in stored],
            )
        return stored

    def delete_relationship(self, source_id: str, rel_id: str, if_match: str | None = None) -> None:
        with self.db.write() as conn:
            row = conn.execute(
                f"SELECT etag FROM relationships WHERE source_id = ? AND id = ?{self.db.for_update}",
                (source_id, rel_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"relationship '{rel_id}' of twin '{source_id}' does not exist")
            _check_preconditions("relationship", f"{source_id}/{rel_id}", row[0], if_match, None)
            conn.execute("DELETE FROM relationships WHERE source_id = ? AND id = ?", (source_id, rel_id))

    def list_relationships(self, source_id: str, name: str | None = None) -> list[Relationship]:
        return self.list_relationships_of([source_id], name)

    def list_relationships_of(self, source_ids: Iterable[str], name: str | None = None) -> list[Relationship]:
        ids = list(dict.fromkeys(source_ids))
        conn = self.db.read()
        found: list[Relationship] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT {_REL_COLUMNS} FROM relationships WHERE source_id IN ({_placeholders(len(part))})"
            params: list[Any] = list(part)
            if name is not None:
                sql += " AND name = ?"
                params.append(name)
            found.extend(_relationship(row) for row in conn.execute(sql + " ORDER BY source_id, id", params))
        return found

    def list_incoming(self, target_id: str) -> list[Relationship]:
        rows = self.db.read().execute(
            f"SELECT {_REL_COLUMNS} FROM relationships WHERE target_id = ? ORDER BY source_id, id",
            (target_id,),
        )
        return [_relationship(row) for row in rows]


def _new_etags(count: int) -> list[str]:
    """``count`` ETags of new_etag's form (W/"<random UUID, version 4>") for a bulk write: one read of the
    system's randomness for all of them, where uuid.uuid4() per twin was a tenth of a city import's store time."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    t = raw.hex()
    return [
        f'W/"{t[i : i + 8]}-{t[i + 8 : i + 12]}-{t[i + 12 : i + 16]}-{t[i + 16 : i + 20]}-{t[i + 20 : i + 32]}"'
        for i in range(0, 32 * count, 32)
    ]
