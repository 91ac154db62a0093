"""Digital Twin Model Identifiers: the one syntax every DTDL reference shares.

The regular expression is the normative one from the DTDL v3 specification (user DTMIs
only; system segments starting with ``_`` are not allowed in models).
"""

from __future__ import annotations

import re

DTMI_PATTERN = re.compile(
    r"^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
    r"(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
    r"(?:;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?)?$"
)
MAX_DTMI_LENGTH = 2048
MAX_INTERFACE_ID_LENGTH = 128
RESERVED_PREFIXES = ("dtmi:dtdl:", "dtmi:standard:")


def is_dtmi(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_DTMI_LENGTH and DTMI_PATTERN.match(value) is not None


def has_version(dtmi: str) -> bool:
    return ";" in dtmi


def deversioned(dtmi: str) -> str:
    return dtmi.split(";", 1)[0]


def id_problem(value: object, *, interface: bool = False) -> str | None:
    """Why ``value`` cannot be the ``@id`` of an element, or None when it can."""
    if not isinstance(value, str):
        return "@id must be a string DTMI such as 'dtmi:com:example:Thermostat;1'."
    if not DTMI_PATTERN.match(value):
        return (
            f"@id {value!r} is not a valid DTMI: it must look like 'dtmi:<segment>(:<segment>)*;<version>', "
            "each segment starting with a letter, containing letters, digits and underscores, "
            "not ending with an underscore; the version is 1-999999999 with an optional .minor part."
        )
    limit = MAX_INTERFACE_ID_LENGTH if interface else MAX_DTMI_LENGTH
    if len(value) > limit:
        what = "an Interface" if interface else "an element"
        return f"@id of {what} may have at most {limit} characters; this one has {len(value)}."
    for prefix in RESERVED_PREFIXES:
        if value.startswith(prefix):
            return f"@id {value!r} uses the reserved prefix {prefix!r}; models may not define identifiers there."
    return None
