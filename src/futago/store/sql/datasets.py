"""Dataset records for the data catalog, and the per-series summary of stored telemetry.

A record is kept as its JSON with the columns it is listed by. The series summary reads the
chunk index of ``telemetry.py`` (``n``, ``t_start``, ``t_end`` precede the blobs in each row, so
the blobs are not read).
"""

from __future__ import annotations

import orjson

from futago.core.datasets import DatasetRecord
from futago.core.errors import InvalidInput, NotFound
from futago.core.problems import Problem
from futago.store.sql.db import Database


class SqlDatasets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put_dataset(self, record: DatasetRecord) -> None:
        problems = [
            Problem(f"/{key}", f"a dataset record needs a non-empty string '{key}'")
            for key in ("id", "kind", "updated")
            if not isinstance(getattr(record, key), str) or not getattr(record, key)
        ]
        if problems:
            raise InvalidInput(problems)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO datasets (id, kind, updated, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, updated = excluded.updated, "
                "record = excluded.record",
                (record.id, record.kind, record.updated, orjson.dumps(record.to_json()).decode()),
            )

    def get_dataset(self, dataset_id: str) -> DatasetRecord | None:
        row = self.db.read().execute("SELECT record FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return DatasetRecord.from_json(orjson.loads(row[0])) if row else None

    def list_datasets(self, kind: str | None = None) -> list[DatasetRecord]:
        conn = self.db.read()
        if kind is None:
            rows = conn.execute("SELECT record FROM datasets ORDER BY id")
        else:
            rows = conn.execute("SELECT record FROM datasets WHERE kind = ? ORDER BY id", (kind,))
        return [DatasetRecord.from_json(orjson.loads(record)) for (record,) in rows]

    def delete_dataset(self, dataset_id: str) -> None:
        with self.db.write() as conn:
            if conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,)).rowcount == 0:
                raise NotFound(f"dataset '{dataset_id}' does not exist")
