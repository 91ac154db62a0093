"""One type for every configured secret: masked wherever it is shown, revealed only where it is used.

A ``Secret`` prints, logs and serialises as ``MASK`` (a URL as itself with its password and query values masked,
so a webhook's token does not show but its host does); only ``reveal()`` gives the value, and it is called where
the secret does its work (a broker or SMTP login, a webhook's HMAC, a device signature check, the API token
comparison). Documents (connection options, notification channel settings, subscribers' channel entries) carry
their secrets as ``Secret`` values: ``conceal`` wraps the fields that hold secrets, ``masked`` gives what a
caller may see, and ``seal``/``unseal`` turn them into ciphertext and back at the one place they are stored, so a
copy of the store holds no password in plain text. ``keep_stored`` puts a mask sent back (a document fetched and
sent back unchanged) back to the secret it stands for, where a document replaces the one stored.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from futago.core.errors import InvalidInput
from futago.core.problems import Problem, join_pointer

log = logging.getLogger(__name__)

MASK = "********"
# Fields whose value is a secret wherever they appear in a configuration document.
SECRET_FIELDS = frozenset({"password", "secret", "token", "api_token", "client_secret", "key_password"})
# Fields holding a URL that may carry a token (a webhook's ``?token=``, a password in its user info).
SECRET_URL_FIELDS = frozenset({"url"})
# Mappings whose every value is a secret, named by their parent and own key (a connection's per-device keys).
SECRET_MAPS = frozenset({("signing", "keys")})
# An ``env:NAME`` value in a secret mapping names where the secret lives, not the secret: it may show.
ENV_REFERENCE = "env:"
# Marks a stored value as ciphertext, so that sealed and old plain-text rows can be told apart.
SEALED = "futago-sealed:v1:"

S = TypeVar("S", str, bytes)


class Secret(Generic[S]):
    """A secret value: ``str``, ``repr`` and JSON show ``MASK``; ``reveal()`` is the only way to the value."""

    __slots__ = ("_shown", "_value")

    def __init__(self, value: S, shown: str = MASK) -> None:
        self._value: S = value
        self._shown = shown  # what may be seen of it: the mask, or a URL with its tokens masked

    def reveal(self) -> S:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._shown!r})"

    def __str__(self) -> str:
        return self._shown

    def __len__(self) -> int:  # length checks (a token long enough) need no reveal
        return len(self._value)

    def __eq__(self, other: object) -> bool:  # constant time: equality must not leak a prefix
        if not isinstance(other, Secret) or type(self._value) is not type(other._value):
            return NotImplemented
        return hmac.compare_digest(_bytes(self._value), _bytes(other._value))  # str: ASCII only

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def to_json(self) -> str:
        return self._shown


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def secret(value: S | Secret[S]) -> Secret[S]:
    """``value`` as a Secret (a Secret stays as it is)."""
    return value if isinstance(value, Secret) else Secret(value)


def secret_url(value: str | Secret[str]) -> Secret[str]:
    """A URL as a Secret that shows itself with its password and query values masked."""
    return value if isinstance(value, Secret) else Secret(value, redact_url(value))


def reveal(value: Any) -> Any:
    """The value behind a Secret; anything else as it is (validators check both alike)."""
    return value.reveal() if isinstance(value, Secret) else value


def json_default(value: Any) -> Any:
    """orjson's ``default``: a Secret that reaches a response, a CLI line or a file is written masked."""
    if isinstance(value, Secret):
        return value.to_json()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _is_secret_map(path: tuple[str, ...]) -> bool:
    return len(path) >= 2 and (path[-2], path[-1]) in SECRET_MAPS


class _Place:
    """Where a value sits: a plain secret field, a URL field, or a secret mapping (where env: names may show)."""

    def __init__(self, url: bool = False, in_map: bool = False) -> None:
        self.url, self.in_map = url, in_map

    def conceal(self, value: Any) -> Any:
        if not isinstance(value, str) or (self.in_map and value.startswith(ENV_REFERENCE)):
            return value
        return secret_url(value) if self.url else Secret(value)


_FIELD, _URL, _MAP = _Place(), _Place(url=True), _Place(in_map=True)


def _place_of(path: tuple[str, ...], key: Any, value: Any) -> _Place | None:
    """Whether the value at ``key`` of the mapping at ``path`` is a secret, and of which kind (None: it is not)."""
    if _is_secret_map(path):
        return _MAP
    if isinstance(value, Mapping | list):
        return None
    if key in SECRET_FIELDS:
        return _FIELD
    return _URL if key in SECRET_URL_FIELDS else None


def _walk(doc: Any, leaf: Any, path: tuple[str, ...] = ()) -> Any:
    """A copy of a JSON document; ``leaf(value, place)`` replaces each value a secret field or map holds."""
    if isinstance(doc, Mapping):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            place = _place_of(path, key, value)
            out[key] = _walk(value, leaf, (*path, str(key))) if place is None else leaf(value, place)
        return out
    if isinstance(doc, list | tuple):
        return [_walk(item, leaf, path) for item in doc]
    return doc


def conceal(doc: Any) -> Any:
    """A copy of ``doc`` with every secret field's text wrapped in a Secret (idempotent)."""
    return _walk(doc, lambda value, place: place.conceal(value))


def masked(doc: Any) -> Any:
    """What a caller may see of ``doc``: every secret, and every secret field given as plain text, as its mask."""
    return _walk(conceal(doc), lambda value, _: value.to_json() if isinstance(value, Secret) else value)


def keep_stored(given: Any, stored: Any) -> Any:
    """``given`` (a document a caller sends to replace ``stored``) with each mask in it put back to the secret stored
    at the same place, as Ditto and ThingsBoard do: a client that GETs a document (its secrets masked) and PUTs it
    back unchanged keeps its secrets, instead of storing the mask as the password. The same place is the same
    field of the same mapping; in a list, the entry of the same ``name`` (a subscriber's channel), else of the
    same index. What shows a mask with no secret stored there is refused (InvalidInput at its pointer): storing
    it would silently replace a password by eight asterisks."""
    problems: list[Problem] = []
    kept = _keep(given, conceal(stored), (), "", problems)
    if problems:
        raise InvalidInput(problems)
    return kept


def _keep(given: Any, stored: Any, path: tuple[str, ...], pointer: str, problems: list[Problem]) -> Any:
    if isinstance(given, Mapping):
        known = stored if isinstance(stored, Mapping) else {}
        out: dict[str, Any] = {}
        for key, value in given.items():
            here, place = join_pointer(pointer, key), _place_of(path, key, value)
            if place is None:
                out[key] = _keep(value, known.get(key), (*path, str(key)), here, problems)
            else:
                out[key] = _restore(value, known.get(key), place, here, problems)
        return out
    if isinstance(given, list):
        return [
            _keep(item, _counterpart(item, index, stored), path, join_pointer(pointer, index), problems)
            for index, item in enumerate(given)
        ]
    return given


def _counterpart(item: Any, index: int, stored: Any) -> Any:
    """The stored list entry that ``item`` replaces: the one of its ``name``, else (neither named) the same index."""
    if not isinstance(stored, list):
        return None
    name = item.get("name") if isinstance(item, Mapping) else None
    if name is not None:
        return next((s for s in stored if isinstance(s, Mapping) and s.get("name") == name), None)
    if index < len(stored) and not (isinstance(stored[index], Mapping) and "name" in stored[index]):
        return stored[index]
    return None


def _restore(value: Any, stored: Any, place: _Place, pointer: str, problems: list[Problem]) -> Any:
    # A URL shows itself with its tokens masked: the mask may stand inside it, and what came back is then the
    # stored URL as shown. Anything else is masked whole.
    if not isinstance(value, str) or (MASK not in value if place is _URL else value != MASK):
        return value
    if isinstance(stored, Secret) and value == str(stored):
        return stored
    what = "a URL with its tokens" if place is _URL else "the secret"
    problems.append(
        Problem(
            pointer, f"'{MASK}' is how a stored secret is shown, and none is stored here to keep: give {what} itself"
        )
    )
    return value


# A secret given as key=value outside a URL's query: a libpq keyword string (``host=db password=...``), a path
# parameter (``/p;password=...``), a query that parse_qsl reads differently (``?a=1;token=...``). Quoted values as
# libpq writes them (``password='a b'``) are masked whole.
_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|pass|token|secret|api[_-]?key|access[_-]?key|sslpassword)(\s*=\s*)"
    r"('(?:[^'\\]|\\.)*'|[^\s&;#]*)"
)


def redact_url(url: str) -> str:
    """A URL fit to show: the password of its user info and the values of its query (tokens) masked, and any
    ``password=``, ``token=``, ``secret=`` ... pair elsewhere in it (or in a keyword connection string)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:{MASK}@{host}" if colon else f"{user}@{host}"
        query = urlencode([(k, MASK) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
        shown = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
        if parts.scheme and not netloc and url[len(parts.scheme) + 1 :].startswith("//"):
            shown = f"{parts.scheme}://{shown[len(parts.scheme) + 1 :]}"  # postgresql:///db keeps its empty host
        return _SECRET_PAIR.sub(lambda m: f"{m[1]}{m[2]}{MASK}", shown)
    except ValueError:  # not a URL at all: no part of it is known to be safe to show
        return MASK


class SecretBox(Protocol):
    """Authenticated encryption with a key kept apart from the store (the key vault's)."""

    def seal(self, plaintext: bytes) -> bytes: ...

    def open(self, sealed: bytes) -> bytes:
        """Raise ValueError when ``sealed`` was not sealed with this box's key."""
        ...


def seal(doc: Any, box: SecretBox | None) -> Any:
    """The stored form of ``doc``: every secret as ``SEALED`` + ciphertext. Without a box (a store opened with
    no key vault) secrets are stored in plain text, as before sealing existed."""

    def one(value: Any, place: _Place) -> Any:
        value = reveal(value)
        if not isinstance(value, str) or value.startswith(SEALED) or not isinstance(place.conceal(value), Secret):
            return value  # not a secret (an env: name), or one that could not be opened: kept as it was stored
        if box is None:
            return value
        return SEALED + base64.b64encode(box.seal(value.encode())).decode()

    return _walk(doc, one)


def unseal(doc: Any, box: SecretBox | None) -> Any:
    """``doc`` as stored, with its secrets as Secrets again; an old plain-text secret is concealed alike (it is
    sealed on its next write). One that does not open stays sealed, so no write can lose it."""

    def one(value: Any, place: _Place) -> Any:
        if not isinstance(value, str) or not value.startswith(SEALED):
            return place.conceal(value)
        try:
            if box is None:
                raise ValueError("no key vault to open it with")
            return place.conceal(box.open(base64.b64decode(value[len(SEALED) :], validate=True)).decode())
        except ValueError as exc:
            log.error("a stored secret cannot be opened (%s); it stays sealed and will not work", exc)
            return Secret(value)

    return _walk(doc, one)
