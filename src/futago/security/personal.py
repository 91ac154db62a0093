"""The personal data layer: what a model marks ``Personal`` is sealed per person, read only with consent, and erased
by destroying the person's key.

A Property or Telemetry co-typed ``Personal`` (DTDL extension ``dtmi:futago:extension:privacy;1``) never reaches
the twin document, the telemetry store or the event bus: the twin service and the telemetry service hand it here,
and it is stored AES-256-GCM sealed with the person's key (the twin is the person: a wearable's twin, a resident's).
Reading it needs the person's consent for the purpose (care, research, city statistics), given and not withdrawn
or expired. The person's own access (export) needs no purpose. Erasure destroys the key (crypto-shredding).
Every read, export, consent change and erasure is audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from futago.core.consents import Consent
from futago.core.dtdl.model_set import ModelSet
from futago.core.dtdl.vocabulary import PERSONAL
from futago.core.errors import Forbidden, InvalidInput
from futago.core.ports import PersonalStore
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED, SeriesData
from futago.core.twins import Twin
from futago.security.audit import AuditLog
from futago.security.vault import KeyDestroyed, KeyVault

PURPOSES = ("care", "research", "city_statistics")


class NoConsent(Forbidden):
    """The person has not consented to this purpose (or withdrew, or it expired)."""

    title = "No consent"


def personal_fields(models: ModelSet, model_id: str) -> tuple[frozenset[str], frozenset[str]]:
    """(properties, telemetry) marked Personal in the model or any model it extends."""
    properties: set[str] = set()
    telemetry: set[str] = set()
    for interface_id in [
        model_id,
        *(m for m in models.interfaces if m != model_id and models.is_of_model(model_id, m)),
    ]:
        interface = models[interface_id]
        properties |= {n for n, p in interface.properties.items() if PERSONAL in p.semantic_types}
        telemetry |= {n for n, t in interface.telemetry.items() if PERSONAL in t.semantic_types}
    return frozenset(properties), frozenset(telemetry)


def _now() -> datetime:
    return datetime.now(UTC)


def _context(person: str, kind: str, name: str, ts: int) -> bytes:
    return f"{person}\x1f{kind}\x1f{name}\x1f{ts}".encode()


class PersonalData:
    def __init__(
        self,
        store: PersonalStore,
        vault: KeyVault,
        audit: AuditLog,
        models: Callable[[], ModelSet],
        model_of: Callable[[str], str | None] = lambda twin_id: None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.audit = audit
        self.models = models
        self.model_of = model_of
        self._fields: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._catalog: ModelSet | None = None  # the model set the cache was worked out from

    def _cache(self) -> tuple[ModelSet, dict[str, tuple[frozenset[str], frozenset[str]]]]:
        catalog = self.models()
        if catalog is not self._catalog:  # new models: work everything out again
            self._catalog, self._fields = catalog, {}
        return catalog, self._fields

    def fields_of(self, model_id: str) -> tuple[frozenset[str], frozenset[str]]:
        catalog, fields = self._cache()
        key = model_id
        if key not in fields:
            self._fields[key] = (
                personal_fields(catalog, model_id) if model_id in catalog else (frozenset(), frozenset())
            )
        return self._fields[key]

    # -- the way in: called by the twin and telemetry services -----------------------------------
    def split_twin(self, twin: Twin) -> Twin:
        """The twin without its personal properties, which are sealed and stored here."""
        personal, _ = self.fields_of(twin.model)
        found = {k: v for k, v in twin.properties.items() if k in personal}
        if not found:
            return twin
        ts = time.time_ns() // 1000
        self.store.add_personal_records(
            [(twin.id, "property", k, ts, self._seal(twin.id, "property", k, ts, v)) for k, v in found.items()]
        )
        twin.properties = {k: v for k, v in twin.properties.items() if k not in personal}
        return twin

    def any_personal_telemetry(self) -> bool:
        """Whether any model marks telemetry Personal (else readings pass untouched, at no cost)."""
        catalog, fields = self._cache()
        key = "*"  # not a model id
        if key not in fields:
            marked = frozenset(
                m
                for m in catalog.interfaces
                if any(PERSONAL in t.semantic_types for t in catalog[m].telemetry.values())
            )
            fields[key] = (frozenset(), marked)
        return bool(fields[key][1])

    def split_readings(self, rows: list[Any], model_of: Callable[[str], str | None]) -> list[Any]:
        """The readings that are not personal; personal ones (twin, name, ts, value, ...) are sealed and stored."""
        if not self.any_personal_telemetry():
            return rows
        keep, sealed = [], []
        for row in rows:
            model = model_of(row[0])
            if model is not None and row[1] in self.fields_of(model)[1]:
                sealed.append(
                    (
                        row[0],
                        "telemetry",
                        row[1],
                        int(row[2]),
                        self._seal(row[0], "telemetry", row[1], int(row[2]), row[3]),
                    )
                )
            else:
                keep.append(row)
        if sealed:
            self.store.add_personal_records(sealed)
        return keep

    def _seal(self, person: str, kind: str, name: str, ts: int, value: Any) -> bytes:
        return self.vault.seal(person, orjson.dumps(value), _context(person, kind, name, ts))

    # -- consent -------------------------------------------------------------------------------
    def set_consent(self, person: str, purpose: str, expires: str | None, by: str) -> dict[str, Any]:
        if purpose not in PURPOSES:
            raise InvalidInput([Problem("/purpose", f"give one of {', '.join(PURPOSES)}")])
        if expires is not None:
            try:
                if datetime.fromisoformat(expires.replace("Z", "+00:00")).tzinfo is None:
                    raise ValueError
            except ValueError:
                raise InvalidInput([Problem("/expires", "give an ISO 8601 time with its offset, or null")]) from None
        consent = Consent(person, purpose, _now().isoformat(), expires, None, by)
        self.store.put_consent(consent)
        self.audit.record(by, "consent.granted", f"personal/{person}", {"purpose": purpose, "expires": expires})
        return consent.to_json()

    def consents(self, person: str) -> list[dict[str, Any]]:
        """The person's consents, per purpose (withdrawn ones too, with when)."""
        return [consent.to_json() for consent in self.store.list_consents(person)]

    def withdraw_consent(self, person: str, purpose: str, by: str) -> dict[str, Any]:
        current = {c.purpose: c for c in self.store.list_consents(person)}.get(purpose)
        if current is None:
            raise InvalidInput([Problem("/purpose", f"{person} has given no consent for {purpose}")])
        withdrawn = replace(current, withdrawn=_now().isoformat())
        self.store.put_consent(withdrawn)
        self.audit.record(by, "consent.withdrawn", f"personal/{person}", {"purpose": purpose})
        return withdrawn.to_json()

    def has_consent(self, person: str, purpose: str) -> bool:
        for consent in self.store.list_consents(person):
            if consent.purpose != purpose or consent.withdrawn:
                continue
            expires = consent.expires
            if expires is None or datetime.fromisoformat(expires.replace("Z", "+00:00")) > _now():
                return True
        return False

    def require_consent(self, person: str, purpose: str) -> None:
        if purpose not in PURPOSES:
            raise InvalidInput([Problem("/purpose", f"give one of {', '.join(PURPOSES)}")])
        if not self.has_consent(person, purpose):
            raise NoConsent(f"{person} has not consented to processing for {purpose} (or withdrew, or it expired)")

    # -- the way out -----------------------------------------------------------------------------
    def _opened(self, person: str) -> dict[str, Any]:
        """The person's records, decrypted; records sealed under a destroyed key (before an erasure) are counted,
        not shown."""
        properties: dict[str, Any] = {}
        telemetry: dict[str, list[dict[str, Any]]] = {}
        erased = 0
        for kind, name, ts, sealed in self.store.personal_records(person):
            try:
                value = orjson.loads(self.vault.open(person, sealed, _context(person, kind, name, ts)))
            except KeyDestroyed:
                erased += 1
                continue
            if kind == "property":
                properties[name] = value  # ordered by time: the last one is the value now
            else:
                stamp = datetime.fromtimestamp(ts / 1e6, UTC).isoformat().replace("+00:00", "Z")
                telemetry.setdefault(name, []).append({"ts": stamp, "value": value})
        return {"properties": properties, "telemetry": telemetry, "erasedRecords": erased}

    def read(self, person: str, purpose: str, by: str) -> dict[str, Any]:
        """The person's data for a purpose they consented to."""
        self.require_consent(person, purpose)
        try:
            data = self._opened(person)
        finally:
            self.audit.record(by, "personal.read", f"personal/{person}", {"purpose": purpose})
        return {"person": person, "purpose": purpose, **data}

    def is_personal(self, twin_id: str, name: str) -> bool:
        """Whether (twin, telemetry) is personal: the behaviour runtime then reads it here, with consent."""
        model = self.model_of(twin_id)
        return model is not None and name in self.fields_of(model)[1]

    def series(self, person: str, name: str, start_us: int, end_us: int, purpose: str, by: str) -> SeriesData:
        """A personal telemetry series in [start, end), for a purpose the person consented to (audited)."""
        self.require_consent(person, purpose)
        points = sorted(
            (ts, orjson.loads(self.vault.open(person, sealed, _context(person, kind, record_name, ts))))
            for kind, record_name, ts, sealed in self.store.personal_records(person)
            if kind == "telemetry" and record_name == name and start_us <= ts < end_us
        )
        self.audit.record(by, "personal.read", f"personal/{person}", {"purpose": purpose, "telemetry": name})
        stamps = np.array([t for t, _ in points], dtype=np.int64)
        values = np.array([float(v) for _, v in points], dtype=np.float64)
        return SeriesData("f8", stamps, values, np.full(len(points), QUALITY_NOT_EVALUATED, dtype=np.uint8))

    def export(self, person: str, by: str) -> dict[str, Any]:
        """Everything held about the person, and their consents: the right of access."""
        data = self._opened(person)
        data["erased"] = data["erasedRecords"] > 0
        self.audit.record(by, "personal.exported", f"personal/{person}")
        return {"person": person, **data, "consents": self.consents(person)}

    def erase(self, person: str, by: str) -> dict[str, Any]:
        """Destroy the person's key: every sealed record of theirs, here or in any copy, no longer decrypts."""
        destroyed = self.vault.destroy(person)
        self.audit.record(by, "personal.erased", f"personal/{person}", {"keyDestroyed": destroyed})
        return {"person": person, "keyDestroyed": destroyed, "records": len(self.store.personal_records(person))}
