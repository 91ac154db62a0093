"""OPC UA data changes as the raw messages of the ingest pipeline: a JSON payload with the value, its source
timestamp and a QARTOD flag read from the StatusCode."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from asyncua import ua

from futago.core.telemetry import QUALITY_FAIL, QUALITY_NOT_EVALUATED, QUALITY_SUSPECT

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quality_of(status: ua.StatusCode | None) -> int:
    """The QARTOD flag for a StatusCode, by its severity (the top two bits)."""
    severity = (status.value if status is not None else 0) >> 30
    if severity == 0:
        return QUALITY_NOT_EVALUATED
    return QUALITY_SUSPECT if severity == 1 else QUALITY_FAIL


def epoch_ms(ts: datetime) -> int | float:
    """Epoch milliseconds, exact to the microsecond (an int when there is no fraction)."""
    if ts.tzinfo is None:  # asyncua gives naive UTC datetimes in some versions
        ts = ts.replace(tzinfo=UTC)
    micros = (ts - _EPOCH) // _ONE_US
    return micros // 1000 if micros % 1000 == 0 else micros / 1000


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def payload_of(value: Any, data_value: ua.DataValue | None) -> bytes:
    document: dict[str, Any] = {"value": value}
    if data_value is not None:
        stamp = data_value.SourceTimestamp or data_value.ServerTimestamp
        if stamp is not None:
            document["ts"] = epoch_ms(stamp)
        document["quality"] = quality_of(data_value.StatusCode)
        if document["quality"] != QUALITY_NOT_EVALUATED and data_value.StatusCode is not None:
            code = data_value.StatusCode
            document["status"] = getattr(code, "name", None) or f"0x{code.value:08X}"
    else:
        document["quality"] = QUALITY_NOT_EVALUATED
    return orjson.dumps(document, default=_jsonable)
