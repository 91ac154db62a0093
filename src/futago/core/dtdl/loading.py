"""Gather DTDL documents from paths, JSON text and Python objects into one model set.

Reading files is the only I/O in ``core``, and only for paths the caller names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

from .model_set import ModelSet


def _loads(text: str) -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a declared dependency
        return json.loads(text)
    return orjson.loads(text)


def _documents(value: object, origin: str) -> Iterator[object]:
    if isinstance(value, list):
        yield from value
    elif isinstance(value, dict):
        yield value
    else:
        raise InvalidInput([Problem("", f"{origin}: the root must be an object or an array of objects.")])


def _from_text(text: str, origin: str) -> Iterator[object]:
    try:
        value = _loads(text.lstrip("\ufeff"))
    except (ValueError, TypeError) as err:
        raise InvalidInput([Problem("", f"{origin} is not valid JSON: {err}")]) from err
    yield from _documents(value, origin)


def _from_path(path: Path) -> Iterator[object]:
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    for file in files:
        yield from _from_text(file.read_text(encoding="utf-8-sig"), str(file))


def _gather(source: object) -> Iterator[object]:
    if isinstance(source, PathLike):
        yield from _from_path(Path(source))
    elif isinstance(source, str):
        stripped = source.lstrip("\ufeff \t\r\n")
        if stripped.startswith(("{", "[")):
            yield from _from_text(source, "JSON text")
        else:
            path = Path(source)
            if not path.exists():
                raise InvalidInput([Problem("", f"{source!r} is neither JSON text nor an existing path.")])
            yield from _from_path(path)
    elif isinstance(source, dict | list):
        yield from _documents(source, "the given value")
    else:
        raise InvalidInput([Problem("", f"cannot load DTDL from a {type(source).__name__}.")])


def read_documents(*sources: object) -> tuple[list[Any], list[Problem]]:
    """Every document of every source, and a problem per source that cannot be read as JSON.

    Unlike ``load`` this goes on past a broken file, so a validator can report them all.
    """
    documents: list[Any] = []
    problems: list[Problem] = []
    for source in sources:
        if isinstance(source, str | PathLike) and Path(source).is_dir():
            parts: list[object] = [*sorted(Path(source).rglob("*.json"))]
        else:
            parts = [source]
        for part in parts:
            try:
                documents.extend(_gather(part))
            except InvalidInput as err:
                problems.extend(err.problems)
            except OSError as err:
                problems.append(Problem("", f"cannot read {part}: {err.strerror or err}"))
    return documents, problems


def load(*sources: object) -> ModelSet:
    """One model set from every source together, so references across files resolve."""
    documents, problems = read_documents(*sources)
    if problems:
        raise InvalidInput(problems)
    return ModelSet.build(documents)
