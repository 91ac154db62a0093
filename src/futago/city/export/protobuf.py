"""The few protocol-buffer wire-format primitives a Mapbox Vector Tile needs.

Writing them here (about forty lines) spares the server a protobuf runtime and generated
code for a schema that has not changed since 2016 (vector-tile-spec 2.1).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5


def varint(value: int) -> bytes:
    """An unsigned base-128 varint; negative int64 values take their 64-bit two's complement."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def key(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def uint_field(field: int, value: int) -> bytes:
    return key(field, VARINT) + varint(value)


def bytes_field(field: int, payload: bytes) -> bytes:
    return key(field, LENGTH_DELIMITED) + varint(len(payload)) + payload


def string_field(field: int, text: str) -> bytes:
    return bytes_field(field, text.encode())


def double_field(field: int, value: float) -> bytes:
    return key(field, FIXED64) + struct.pack("<d", value)


#: Varints of the numbers a tile mostly holds (tag indexes, coordinate deltas), looked up rather than computed.
_SMALL = [varint(v) for v in range(1 << 14)]


def packed_uints(field: int, values: Iterable[int]) -> bytes:
    small = _SMALL
    return bytes_field(field, b"".join(small[v] if 0 <= v < 16384 else varint(v) for v in values))
