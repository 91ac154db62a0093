"""A person's consent to the processing of their personal data for one purpose.

It lives in core because the personal store's port (``core.ports.PersonalStore``) takes and gives it; what a
consent permits, and when it holds, is security's (``futago.security.personal``). Its JSON is what
``/persons/{id}/consents`` answers: every key always present, null where it does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from futago.core.records import JsonRecord


@dataclass(frozen=True, slots=True)
class Consent(JsonRecord):
    """One (person, purpose) consent; a later one for the same pair replaces it. A withdrawn consent is kept, with
    when, so that what was allowed at a time stays on record."""

    person: str
    purpose: str  # care, research, city_statistics
    granted: str  # ISO 8601 with offset
    expires: str | None = None
    withdrawn: str | None = None  # when it was withdrawn
    by: str = ""  # who recorded it
