"""The /jsonldContexts API (GS CIM 009 clause 5.13) over the context resolver's cache.

Kinds: ``Hosted`` (a context a client POSTed; this broker serves it at /ngsi-ld/v1/jsonldContexts/<id>, and a
request naming that URL is resolved here, never fetched), ``Cached`` (a remote context the resolver fetched or
read from an offline copy). ``ImplicitlyCreated`` contexts (inline contexts turned into hosted ones) are not made
by this broker: inline contexts are processed into term maps directly. Hosted contexts live in the process's
memory (docs/ngsi-ld.md).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from futago.services.ngsild.attached import Attached
from futago.services.ngsild.context import ContextResolver, Fetcher
from futago.services.ngsild.errors import BadRequestData, ResourceNotFound

PATH = "/ngsi-ld/v1/jsonldContexts/"
MAX_HOSTED = 1000
KINDS = ("Hosted", "Cached", "ImplicitlyCreated")


@dataclass
class Hosted:
    local_id: str
    document: dict[str, Any]  # {"@context": ...}
    created_at: str
    hits: int = 0
    last_usage: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ContextRegistry:
    """The hosted contexts of one resolver, and the view of its cache; installs itself in front of its fetcher."""

    def __init__(self, resolver: ContextResolver) -> None:
        self.resolver = resolver
        self.hosted: dict[str, Hosted] = {}
        self._lock = threading.Lock()
        self._fetch: Fetcher = resolver.fetch
        resolver.fetch = self._serve

    def _serve(self, url: str, timeout_s: float, max_bytes: int) -> bytes:
        """A hosted context's URL is answered from memory (whatever host the caller named this broker by)."""
        _, found, local_id = url.partition(PATH)
        entry = self.hosted.get(local_id) if found else None
        if entry is None:
            return self._fetch(url, timeout_s, max_bytes)
        entry.hits += 1
        entry.last_usage = _now()
        return orjson.dumps(entry.document)

    def add(self, document: Any) -> Hosted:
        if not isinstance(document, dict) or "@context" not in document:
            raise BadRequestData("a context to host is a JSON-LD document with an @context member")
        context = document["@context"]
        self.resolver.resolve(context)  # refuse what cannot be processed (and learn its terms now)
        with self._lock:
            if len(self.hosted) >= MAX_HOSTED:
                raise BadRequestData(f"at most {MAX_HOSTED} hosted contexts; delete some first")
            entry = Hosted(str(uuid.uuid4()), {"@context": context}, _now())
            self.hosted[entry.local_id] = entry
        return entry

    def cached(self) -> list[tuple[str, float, Any]]:
        """(url, fetched at (epoch seconds), @context) of each remote context in the cache, hosted ones left out."""
        offset = time.time() - time.monotonic()
        with self.resolver._lock:
            items = list(self.resolver._documents.items())
        return [(url, at + offset, ctx) for url, (at, ctx) in items if not self._hosted_url(url)]

    def _hosted_url(self, url: str) -> bool:
        _, found, local_id = url.partition(PATH)
        return bool(found) and local_id in self.hosted

    def delete(self, context_id: str, reload: bool = False) -> None:
        """Delete a hosted context, or drop a cached one (``reload``: fetch it again now)."""
        with self._lock:
            entry = self.hosted.pop(context_id, None)
        if entry is None and context_id not in dict((u, c) for u, _, c in self.cached()):
            raise ResourceNotFound(f"no @context {context_id!r} is hosted or cached")
        if entry is not None and reload:
            raise BadRequestData("reload applies to cached contexts, not hosted ones")
        with self.resolver._lock:
            for url in [u for u in self.resolver._documents if u == context_id or u.endswith(PATH + context_id)]:
                del self.resolver._documents[url]
            self.resolver._maps.clear()  # term maps may have been built from it: rebuilt on demand
        if reload:
            self.resolver.resolve(context_id)


#: The hosted contexts of a resolver: one registry per resolver, for the resolver's life.
registry_of: Attached[ContextResolver, ContextRegistry] = Attached(ContextRegistry)
