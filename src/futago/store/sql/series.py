"""What both telemetry adapters read alike: the series of a twin (``tseries``) and each one's latest reading
(``tlatest``, its value in the chunk codec: exact for int64, NaN and inf)."""

from __future__ import annotations

import numpy as np

from futago.core.telemetry import LatestReading
from futago.store import chunks
from futago.store.sql.db import Database


class SqlSeriesIndex:
    db: Database

    def latest(self, twin_id: str) -> dict[str, LatestReading]:
        rows = (
            self.db.read()
            .execute(
                "SELECT s.name, l.ts, l.kind, l.value, l.quality "
                "FROM tlatest l JOIN tseries s ON s.id = l.series_id WHERE s.twin_id = ? ORDER BY s.name",
                (twin_id,),
            )
            .fetchall()
        )
        latest = {}
        for name, ts, kind, value, quality in rows:
            decoded = chunks.decode_values(kind, bytes(value))[0]
            latest[name] = LatestReading(ts, decoded.item() if isinstance(decoded, np.generic) else decoded, quality)
        return latest

    def series_names(self, twin_id: str) -> list[str]:
        rows = self.db.read().execute("SELECT name FROM tseries WHERE twin_id = ? ORDER BY name", (twin_id,))
        return [name for (name,) in rows.fetchall()]
