"""JSON-LD @context handling for NGSI-LD: term maps, the built-in core context, and fetched user contexts.

A full JSON-LD expansion per entity is far too slow for the batch paths (thousands of entities a second), and an
NGSI-LD payload only ever needs its member names (attribute names, types) expanded and compacted. So each distinct
@context is processed once into a ``TermMap`` (term -> IRI, IRI -> term, prefixes, @vocab), cached, and every
entity is expanded and compacted through dictionary look-ups.

The core context (``ngsi-ld-core-context-v1.8.json`` beside this module) is the term table of ETSI GS CIM 009
V1.8.1 Annex B ("Core NGSI-LD @context definition"), written out by hand in this form; it is always in force and
never fetched. User contexts named by URL are fetched over HTTP (httpx) into a bounded cache (entry count, bytes
per document, time to live), or read from operator-configured offline copies; a caller can never make the server
read a local file.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from futago.services.ngsild.errors import BadRequestData, LdContextNotAvailable

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
#: Earlier core context URLs clients still send: the same terms for everything this broker answers.
CORE_ALIASES = frozenset(
    {
        CORE_CONTEXT_URL,
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.4.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.5.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
    }
)
NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = NGSI_LD + "default-context/"
MAX_CONTEXT_DEPTH = 8  # contexts naming contexts naming contexts ...


@dataclass(slots=True)
class TermMap:
    """One processed @context: how its terms expand and how IRIs compact back."""

    terms: dict[str, str] = field(default_factory=dict)  # term -> IRI (keywords map to "@id", "@type", ...)
    vocab: str | None = None
    _reverse: dict[str, str] | None = None

    def expand(self, term: str) -> str:
        """The IRI of an attribute or type name: a term, a compact IRI (prefix:suffix), an IRI, or @vocab-relative."""
        iri = self.terms.get(term)
        if iri is not None:
            return iri
        prefix, colon, suffix = term.partition(":")
        if colon:
            if not suffix.startswith("//"):
                base = self.terms.get(prefix)
                if base is not None and not base.startswith("@"):
                    return base + suffix
            return term  # an absolute IRI (urn:..., https://..., dtmi:...)
        return (self.vocab or DEFAULT_VOCAB) + term

    def compact(self, iri: str) -> str:
        """The shortest name of ``iri`` in this context: a term, a @vocab-relative name, a compact IRI, or itself."""
        reverse = self._reverse
        if reverse is None:
            reverse = self._reverse = _reverse(self.terms)
        term = reverse.get(iri)
        if term is not None:
            return term
        vocab = self.vocab or DEFAULT_VOCAB
        if iri.startswith(vocab):
            rest = iri[len(vocab) :]
            if rest and ":" not in rest and rest not in self.terms:
                return rest
        for prefix, base in self.terms.items():
            if base.endswith(("/", "#")) and iri.startswith(base) and len(iri) > len(base):
                return f"{prefix}:{iri[len(base) :]}"
        return iri

    def merged(self, other: TermMap) -> TermMap:
        return TermMap({**self.terms, **other.terms}, other.vocab if other.vocab is not None else self.vocab)


def _reverse(terms: Mapping[str, str]) -> dict[str, str]:
    reverse: dict[str, str] = {}
    for term, iri in terms.items():
        if iri.startswith("@"):
            continue
        known = reverse.get(iri)
        if known is None or len(term) < len(known) or (len(term) == len(known) and term < known):
            reverse[iri] = term
    return reverse


def _term_definitions(local: Mapping[str, Any], base: TermMap) -> TermMap:
    """The terms of one context object, compact IRIs resolved against the terms already defined."""
    raw: dict[str, str] = {}
    vocab = base.vocab
    for term, definition in local.items():
        if term == "@vocab":
            if isinstance(definition, str):
                vocab = definition
            continue
        if term.startswith("@"):
            continue  # @version, @protected, @base, @language: nothing a term map needs
        if isinstance(definition, str):
            raw[term] = definition
        elif isinstance(definition, dict) and "@context" in definition:
            raise BadRequestData(f"the term '{term}' carries a scoped @context, which a user @context may not (5.5.7)")
        elif isinstance(definition, dict) and isinstance(definition.get("@id"), str):
            raw[term] = definition["@id"]
        elif isinstance(definition, dict) and "@id" not in definition:
            raw[term] = term  # a definition that only sets @type or @container: the term expands through @vocab
    current = TermMap({**base.terms}, vocab)
    resolved: dict[str, str] = {}
    for term, target in raw.items():
        resolved[term] = _resolve(target, term, raw, current)
    current.terms.update(resolved)
    return current


def _resolve(target: str, term: str, raw: Mapping[str, str], base: TermMap) -> str:
    if target.startswith("@"):
        return target
    prefix, colon, suffix = target.partition(":")
    if colon and not suffix.startswith("//"):
        prefix_iri = raw.get(prefix) if prefix != term else None
        if prefix_iri is None:
            prefix_iri = base.terms.get(prefix)
        if prefix_iri is not None and not prefix_iri.startswith("@"):
            return prefix_iri + suffix
        return target
    if colon:
        return target
    if target == term or target not in raw:
        return (base.vocab or DEFAULT_VOCAB) + target
    return _resolve(raw[target], target, raw, base)


def _load_core() -> TermMap:
    text = resources.files("futago.services.ngsild").joinpath("ngsi-ld-core-context-v1.8.json").read_bytes()
    document = orjson.loads(text)
    return _term_definitions(document["@context"], TermMap())


Fetcher = Callable[[str, float, int], bytes]  # (url, timeout_s, max_bytes) -> the document's bytes


def http_fetch(url: str, timeout_s: float, max_bytes: int) -> bytes:
    """GET a context over HTTP(S), refusing documents over ``max_bytes``."""
    import httpx

    headers = {"Accept": "application/ld+json, application/json;q=0.9"}
    with httpx.stream("GET", url, headers=headers, timeout=timeout_s, follow_redirects=True) as response:
        if response.status_code != 200:
            raise LdContextNotAvailable(f"the @context {url} answered HTTP {response.status_code}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise LdContextNotAvailable(f"the @context {url} is larger than {max_bytes} bytes")
        return bytes(body)


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """Bounds of the user-context cache, and offline copies (URL -> a local file, read instead of fetching)."""

    cache_entries: int = 256
    ttl_s: float = 3600.0
    max_bytes: int = 1_000_000
    timeout_s: float = 5.0
    offline: Mapping[str, str] = field(default_factory=dict)


class ContextResolver:
    """Processes @context values (a URL, an object, a list of them) into TermMaps, caching each distinct one."""

    def __init__(self, settings: ContextSettings | None = None, fetch: Fetcher = http_fetch) -> None:
        self.settings = settings or ContextSettings()
        self.fetch = fetch
        self.core = _load_core()
        self._lock = threading.Lock()
        self._documents: OrderedDict[str, tuple[float, Any]] = OrderedDict()  # url -> (fetched at, @context)
        self._maps: OrderedDict[bytes, TermMap] = OrderedDict()  # the context value's JSON -> its TermMap

    def resolve(self, context: Any) -> TermMap:
        """The term map of ``context`` (None: the core context alone) with the core context in force."""
        if context is None:
            return self.core
        key = orjson.dumps(context)
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
                return found
        processed = self._process(context, self.core, 0)
        with self._lock:
            self._maps[key] = processed
            while len(self._maps) > self.settings.cache_entries:
                self._maps.popitem(last=False)
        return processed

    def _process(self, context: Any, active: TermMap, depth: int) -> TermMap:
        if depth > MAX_CONTEXT_DEPTH:
            raise BadRequestData("the @context nests more than 8 remote contexts")
        if isinstance(context, list):
            for item in context:
                active = self._process(item, active, depth)
            return active
        if isinstance(context, str):
            if context in CORE_ALIASES:
                return active.merged(self.core)
            return self._process(self._document(context), active, depth + 1)
        if isinstance(context, dict):
            return _term_definitions(context, active)
        if context is None:
            return active
        raise BadRequestData("an @context is a URL, an object of term definitions, or a list of them")

    def _document(self, url: str) -> Any:
        """The @context member of the document at ``url``: cached, an offline copy, or fetched."""
        if not url.startswith(("http://", "https://")):
            raise BadRequestData(f"the @context {url!r} is not an http(s) URL", problem_type="LdContextNotAvailable")
        now = time.monotonic()
        with self._lock:
            cached = self._documents.get(url)
            if cached is not None and now - cached[0] < self.settings.ttl_s:
                self._documents.move_to_end(url)
                return cached[1]
        offline = self.settings.offline.get(url)
        try:
            if offline is not None:
                with open(offline, "rb") as file:  # an operator's setting, never a caller's
                    raw = file.read(self.settings.max_bytes + 1)
            else:
                raw = self.fetch(url, self.settings.timeout_s, self.settings.max_bytes)
        except LdContextNotAvailable:
            raise
        except Exception as exc:  # a network error or an unreadable file: the context is not available
            raise LdContextNotAvailable(f"the @context {url} could not be loaded: {exc}") from exc
        if len(raw) > self.settings.max_bytes:
            raise LdContextNotAvailable(f"the @context {url} is larger than {self.settings.max_bytes} bytes")
        # 5.5.6: a document that was retrieved but is no JSON-LD context is invalid (BadRequestData), not missing
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequestData(f"the @context {url} is not JSON: {exc}") from exc
        if not isinstance(document, dict) or "@context" not in document:
            raise BadRequestData(f"the document at {url} has no @context member")
        with self._lock:
            self._documents[url] = (now, document["@context"])
            while len(self._documents) > self.settings.cache_entries:
                self._documents.popitem(last=False)
        return document["@context"]
