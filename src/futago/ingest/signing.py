"""Device authenticity: messages signed with a per-device key (HMAC-SHA256), checked before a reading is stored.

A connection's ``signing`` names a key per device (the twin a message maps to), given as text, ``base64:...``, or
``env:NAME`` to read it from the environment rather than keep it in the stored configuration. A signed message is
a JSON object whose ``sig`` field (the name is configurable) is the hex HMAC-SHA256, under the device's key, of the
canonical JSON of the object without that field (keys sorted, no spaces, UTF-8). A message with a missing or wrong
signature, or from a device without a key, goes to the dead letters with the reason; the connection keeps running.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from futago.core.audit import canonical_json
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.secrets import Secret, reveal
from futago.ingest.mapping import MappingError, RawMessage


def _key(given: Any, pointer: str) -> Secret[bytes]:
    return Secret(_key_bytes(reveal(given), pointer))


def _key_bytes(text: Any, pointer: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise InvalidInput([Problem(pointer, "give the key as text, base64:<key> or env:<VARIABLE>")])
    if text.startswith("env:"):
        value = os.environ.get(text[4:])
        if not value:
            raise InvalidInput([Problem(pointer, f"the environment variable {text[4:]} is not set")])
        return value.encode()
    if text.startswith("base64:"):
        try:
            return base64.b64decode(text[7:], validate=True)
        except ValueError:
            raise InvalidInput([Problem(pointer, "the key after base64: is not base64")]) from None
    return text.encode()


def signature(key: bytes, document: dict[str, Any]) -> str:
    """What a device sends as ``sig``: HMAC-SHA256 over the canonical JSON of the document without it."""
    return hmac.new(key, canonical_json(document), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signing:
    keys: dict[str, Secret[bytes]]  # device (twin id) -> key
    field: str = "sig"

    @classmethod
    def from_config(cls, config: Any, pointer: str = "/signing") -> Signing:
        if not isinstance(config, dict) or not isinstance(config.get("keys"), dict) or not config["keys"]:
            raise InvalidInput([Problem(f"{pointer}/keys", "give keys: {<device twin id>: <key>, ...}")])
        field = config.get("field", "sig")
        if not isinstance(field, str) or not field:
            raise InvalidInput([Problem(f"{pointer}/field", "give the name of the signature field")])
        keys = {str(device): _key(text, f"{pointer}/keys/{device}") for device, text in config["keys"].items()}
        return cls(keys, field)

    def verify(self, message: RawMessage, devices: Iterable[str]) -> None:
        """Raise MappingError (a dead letter) unless every device the message speaks for signed it."""
        try:
            document = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            raise MappingError("a signed message must be a JSON object", "") from None
        if not isinstance(document, dict) or not isinstance(document.get(self.field), str):
            raise MappingError(f"the message is not signed: no '{self.field}' field", f"/{self.field}")
        given = document.pop(self.field)
        for device in sorted(set(devices)):
            key = self.keys.get(device)
            if key is None:
                raise MappingError(f"device '{device}' has no signing key on this connection", f"/{self.field}")
            if not hmac.compare_digest(given.encode(), signature(key.reveal(), document).encode()):
                raise MappingError(f"the signature does not verify with the key of '{device}'", f"/{self.field}")
