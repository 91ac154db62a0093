"""The /jsonldContexts API (GS CIM 009 clause 5.13) over the store's hosted contexts and the resolver's cache.

Kinds: ``Hosted`` (a context a client POSTed; this broker serves it at /ngsi-ld/v1/jsonldContexts/<id>, and a
request naming that URL is resolved here, never fetched), ``Cached`` (a remote context the resolver fetched or
read from an offline copy). ``ImplicitlyCreated`` contexts (inline contexts turned into hosted ones) are not made
by this broker: inline contexts are processed into term maps directly.

Hosted contexts are kept in the store (``NgsiLdContextStore``), so they survive restarts and every process on the
store serves the same ones: an add or a delete writes through, and a hosted URL the resolver has not cached is
read through. The resolver caches what it loaded (as any remote context), so a context deleted by another process
is dropped from this one's cache at the next sweep (at most ``SWEEP_S`` later). Cached contexts stay in memory:
each process fetches its own copy. A registry built without a store (a service made alone, in a test) keeps its
hosted contexts in memory.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from futago.core.errors import Conflict
from futago.core.ports import HostedContext, NgsiLdContextStore
from futago.services.ngsild.attached import Attached
from futago.services.ngsild.context import ContextResolver, Fetcher, TermMap
from futago.services.ngsild.errors import BadRequestData, ResourceNotFound

log = logging.getLogger(__name__)

PATH = "/ngsi-ld/v1/jsonldContexts/"
MAX_HOSTED = 1000
KINDS = ("Hosted", "Cached", "ImplicitlyCreated")
SWEEP_S = 5.0  # how stale another process's delete may be here, at most


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MemoryContexts:
    """The hosted-context port in this process's memory, for a registry no store was given to."""

    def __init__(self) -> None:
        self._contexts: dict[str, HostedContext] = {}
        self._lock = threading.Lock()

    def add_ngsild_context(self, context: HostedContext, limit: int) -> None:
        with self._lock:
            if len(self._contexts) >= limit:
                raise Conflict(f"at most {limit} hosted contexts")
            self._contexts[context.local_id] = context

    def get_ngsild_context(self, local_id: str) -> HostedContext | None:
        return self._contexts.get(local_id)

    def list_ngsild_contexts(self) -> list[HostedContext]:
        with self._lock:
            return [self._contexts[key] for key in sorted(self._contexts)]

    def ngsild_context_ids(self) -> set[str]:
        return set(self._contexts)

    def use_ngsild_context(self, local_id: str, used_at: str) -> None:
        with self._lock:
            found = self._contexts.get(local_id)
            if found is not None:
                self._contexts[local_id] = found._replace(hits=found.hits + 1, last_usage=used_at)

    def delete_ngsild_context(self, local_id: str) -> bool:
        with self._lock:
            return self._contexts.pop(local_id, None) is not None


class ContextRegistry:
    """The hosted contexts of one resolver, and the view of its cache; installs itself in front of its fetcher."""

    def __init__(self, resolver: ContextResolver) -> None:
        self.resolver = resolver
        self.store: NgsiLdContextStore = MemoryContexts()
        self._lock = threading.Lock()
        self._served: dict[str, str] = {}  # hosted URL the resolver loaded (and caches) -> its local id
        self._next_sweep = 0.0
        self._fetch: Fetcher = resolver.fetch
        resolver.fetch = self._serve
        self._resolve = resolver.resolve
        resolver.resolve = self._resolve_fresh  # type: ignore[method-assign]  # sweeps before resolving

    def use(self, store: NgsiLdContextStore) -> ContextRegistry:
        """Keep the hosted contexts in ``store`` (the composition root calls this once, before serving)."""
        self.store = store
        return self

    def _serve(self, url: str, timeout_s: float, max_bytes: int) -> bytes:
        """A hosted context's URL is answered from the store (whatever host the caller named this broker by)."""
        _, found, local_id = url.partition(PATH)
        entry = self.store.get_ngsild_context(local_id) if found and local_id else None
        if entry is None:
            return self._fetch(url, timeout_s, max_bytes)
        with self._lock:
            self._served[url] = local_id
        try:
            self.store.use_ngsild_context(local_id, _now())
        except Exception:  # a hit count is not worth failing the request that resolves the context
            log.warning("could not count a hit of hosted @context %s", local_id, exc_info=True)
        return orjson.dumps({"@context": entry.context})

    def _resolve_fresh(self, context: Any) -> TermMap:
        if self._served and time.monotonic() >= self._next_sweep:
            self._sweep()
        return self._resolve(context)

    def _sweep(self) -> None:
        """Drop from the resolver's cache the hosted contexts another process deleted."""
        self._next_sweep = time.monotonic() + SWEEP_S
        try:
            stored = self.store.ngsild_context_ids()
        except Exception:  # the store is unreachable: keep what is cached, try again at the next sweep
            log.warning("could not check the hosted @contexts", exc_info=True)
            return
        with self._lock:
            gone = [url for url, local_id in self._served.items() if local_id not in stored]
        if gone:
            self._forget(gone)

    def _forget(self, urls: list[str]) -> None:
        with self.resolver._lock:
            for url in urls:
                self.resolver._documents.pop(url, None)
            self.resolver._maps.clear()  # term maps may have been built from them: rebuilt on demand
        with self._lock:
            for url in urls:
                self._served.pop(url, None)

    def add(self, document: Any) -> HostedContext:
        if not isinstance(document, dict) or "@context" not in document:
            raise BadRequestData("a context to host is a JSON-LD document with an @context member")
        context = document["@context"]
        if len(orjson.dumps(context)) > self.resolver.settings.max_bytes:
            raise BadRequestData(f"a hosted @context is at most {self.resolver.settings.max_bytes} bytes")
        self.resolver.resolve(context)  # refuse what cannot be processed (and learn its terms now)
        entry = HostedContext(str(uuid.uuid4()), context, _now())
        try:
            self.store.add_ngsild_context(entry, MAX_HOSTED)
        except Conflict as exc:
            raise BadRequestData(f"at most {MAX_HOSTED} hosted contexts; delete some first") from exc
        return entry

    def stored(self) -> list[HostedContext]:
        """Every hosted context, by local id."""
        return self.store.list_ngsild_contexts()

    def cached(self) -> list[tuple[str, float, Any]]:
        """(url, fetched at (epoch seconds), @context) of each remote context in the cache, hosted ones left out."""
        offset = time.time() - time.monotonic()
        with self.resolver._lock:
            items = list(self.resolver._documents.items())
        with self._lock:
            served = set(self._served)
        return [(url, at + offset, ctx) for url, (at, ctx) in items if url not in served]

    def delete(self, context_id: str, reload: bool = False) -> None:
        """Delete a hosted context (by its local id or URL), or drop a cached one (``reload``: fetch it again)."""
        local_id = context_id.partition(PATH)[2] or context_id
        hosted = self.store.get_ngsild_context(local_id) is not None
        if hosted and reload:
            raise BadRequestData("reload applies to cached contexts, not hosted ones")
        if hosted and not self.store.delete_ngsild_context(local_id):
            hosted = False  # deleted by another request meanwhile
        if not hosted and context_id not in {url for url, _, _ in self.cached()}:
            raise ResourceNotFound(f"no @context {context_id!r} is hosted or cached")
        with self._lock:  # a hosted context: every URL it was loaded under (any host name); a cached one: its URL
            urls = [url for url, served_id in self._served.items() if served_id == local_id] if hosted else []
        self._forget(urls or [context_id])
        if reload:
            self.resolver.resolve(context_id)


#: The hosted contexts of a resolver: one registry per resolver, for the resolver's life.
registry_of: Attached[ContextResolver, ContextRegistry] = Attached(ContextRegistry)
