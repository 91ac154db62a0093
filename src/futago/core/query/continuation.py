"""Continuation tokens: where the next page of a query resumes.

A token is base64url of compact JSON: a hash of the query text (so a token cannot be
replayed against another query), the root twin id whose rows are partly delivered, how
many of its rows were delivered, and how many rows the whole query has delivered (for
TOP). Resuming needs no server-side state, so any worker can serve the next page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from futago.core.query.errors import fail_token


@dataclass(frozen=True, slots=True)
class Position:
    root_id: str
    skip: int  # rows of ``root_id`` already delivered
    delivered: int  # rows delivered by all earlier pages


def query_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def encode(text: str, position: Position) -> str:
    doc = {"v": 1, "q": query_hash(text), "r": position.root_id, "s": position.skip, "d": position.delivered}
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(text: str, token: str) -> Position:
    """The position in ``token``; InvalidInput when it is malformed or from another query."""
    try:
        if not isinstance(token, str) or len(token) > 4096:
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("v") != 1:
            raise ValueError
        digest, root_id, skip, delivered = doc["q"], doc["r"], doc["s"], doc["d"]
        if not (isinstance(digest, str) and isinstance(root_id, str)):
            raise ValueError
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (skip, delivered)):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        fail_token("not a continuation token issued by this service; run the query again without it")
    if digest != query_hash(text):
        fail_token("this continuation token belongs to a different query; send it with the same query text")
    return Position(root_id, skip, delivered)
