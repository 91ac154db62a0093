"""NGSI-LD temporal instances that are not telemetry readings (``ngsild_temporal_instances``), on both adapters.

One row per instance, keyed by twin, attribute IRI and instanceId. The service decides what goes here (every kind
but a plain Property reading) and bounds what it writes and reads; the store adds the per-attribute bound, checked
in the transaction that inserts with the writers of that table serialized, so two processes cannot pass it.
"""

from __future__ import annotations

from typing import Any

from futago.core.errors import Conflict
from futago.store.sql.db import Database

#: The instant a temporal query filters and orders by (``timeproperty``), as its column.
TIME_COLUMNS = {"observedAt": "observed_us", "createdAt": "created_us", "modifiedAt": "modified_us"}
_COLUMNS = "instance_id, dataset_id, observed_us, created_us, modified_us, body"
#: A stored instance: (instanceId, datasetId or '', observedAt, createdAt, modifiedAt in µs, the instance's JSON).
InstanceRow = tuple[str, str, int, int, int, str]
#: A row to insert: (twin id, attribute IRI, *InstanceRow).
NewInstance = tuple[str, str, str, str, int, int, int, str]


def _column(time_property: str) -> str:
    return TIME_COLUMNS[time_property]  # a KeyError here is a bug of the caller: the service checks the name


def _window(column: str, start_us: int | None, end_us: int | None) -> tuple[str, list[Any]]:
    where, args = "", []
    if start_us is not None:
        where += f" AND {column} >= ?"
        args.append(start_us)
    if end_us is not None:
        where += f" AND {column} < ?"
        args.append(end_us)
    return where, args


class SqlNgsiLdInstances:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_temporal_instances(self, rows: list[NewInstance], per_attribute: int) -> None:
        """Insert instances; past ``per_attribute`` instances of one attribute of a twin nothing is stored."""
        with self.db.write() as conn:
            self.db.serialize(conn, "ngsild_temporal_instances")
            adding: dict[tuple[str, str], int] = {}
            for row in rows:
                adding[(row[0], row[1])] = adding.get((row[0], row[1]), 0) + 1
            for (twin_id, attr), count in adding.items():
                have = conn.execute(
                    "SELECT COUNT(*) FROM ngsild_temporal_instances WHERE twin_id = ? AND attr = ?", (twin_id, attr)
                ).fetchone()[0]
                if int(have) + count > per_attribute:
                    raise Conflict(f"an attribute keeps at most {per_attribute} temporal instances ({attr})")
            conn.executemany(
                "INSERT INTO ngsild_temporal_instances (twin_id, attr, "
                + _COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def temporal_instance_counts(
        self, twin_id: str, time_property: str, start_us: int | None, end_us: int | None
    ) -> dict[str, int]:
        """Attribute IRI -> how many of its instances are in the interval."""
        column = _column(time_property)
        where, args = _window(column, start_us, end_us)
        found = self.db.read().execute(
            f"SELECT attr, COUNT(*) FROM ngsild_temporal_instances WHERE twin_id = ?{where} GROUP BY attr",
            (twin_id, *args),
        )
        return {attr: int(count) for attr, count in found}

    def temporal_instances(
        self,
        twin_id: str,
        attr: str,
        time_property: str,
        window: tuple[int | None, int | None],
        limit: int,
        newest_first: bool = False,
    ) -> list[InstanceRow]:
        """At most ``limit`` instances of an attribute in the interval, oldest (or newest) first."""
        column = _column(time_property)
        where, args = _window(column, *window)
        order = "DESC" if newest_first else "ASC"
        rows = self.db.read().execute(
            f"SELECT {_COLUMNS} FROM ngsild_temporal_instances WHERE twin_id = ? AND attr = ?{where} "
            f"ORDER BY {column} {order}, instance_id {order} LIMIT ?",
            (twin_id, attr, *args, limit),
        )
        return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows]

    def temporal_instance_attrs(self, twin_id: str) -> set[str]:
        rows = self.db.read().execute(
            "SELECT DISTINCT attr FROM ngsild_temporal_instances WHERE twin_id = ?", (twin_id,)
        )
        return {row[0] for row in rows}

    def get_temporal_instance(self, twin_id: str, attr: str, instance_id: str) -> InstanceRow | None:
        row = (
            self.db.read()
            .execute(
                f"SELECT {_COLUMNS} FROM ngsild_temporal_instances WHERE twin_id = ? AND attr = ? AND instance_id = ?",
                (twin_id, attr, instance_id),
            )
            .fetchone()
        )
        return None if row is None else (row[0], row[1], int(row[2]), int(row[3]), int(row[4]), row[5])

    def replace_temporal_instance(self, twin_id: str, attr: str, row: InstanceRow) -> bool:
        instance_id, dataset_id, observed_us, _created, modified_us, body = row
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    "UPDATE ngsild_temporal_instances SET dataset_id = ?, observed_us = ?, modified_us = ?, body = ? "
                    "WHERE twin_id = ? AND attr = ? AND instance_id = ?",
                    (dataset_id, observed_us, modified_us, body, twin_id, attr, instance_id),
                ).rowcount
            )

    def delete_temporal_instances(
        self, twin_id: str, attr: str | None = None, instance_id: str | None = None, dataset_id: str | None = None
    ) -> int:
        """Delete a twin's instances: all, an attribute's, one instance, or an attribute's of one datasetId."""
        where, args = "twin_id = ?", [twin_id]
        for column, given in (("attr", attr), ("instance_id", instance_id), ("dataset_id", dataset_id)):
            if given is not None:
                where += f" AND {column} = ?"
                args.append(given)
        with self.db.write() as conn:
            return int(conn.execute(f"DELETE FROM ngsild_temporal_instances WHERE {where}", args).rowcount)
