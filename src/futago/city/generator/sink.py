"""Where the files go: a PLATEAU-style zip or a plain folder, written one file at a time so that
memory stays bounded by the largest single file's chunk, not by the district."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Literal


class Sink:
    def __init__(self, out: Path, layout: Literal["zip", "dir"]) -> None:
        self.out = out
        self.layout = layout
        self.files: list[str] = []
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> Sink:
        if self.layout == "zip":
            self.out.parent.mkdir(parents=True, exist_ok=True)
            # Level 1: deflate at level 6 would cost more than building the XML.
            self._zip = zipfile.ZipFile(self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        else:
            self.out.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def write(self, relpath: str, chunks: Iterable[str]) -> None:
        """Write one file from text chunks (UTF-8)."""
        self.files.append(relpath)
        if self._zip is not None:
            with self._zip.open(relpath, "w", force_zip64=True) as fz:
                for chunk in chunks:
                    fz.write(chunk.encode("utf-8"))
            return
        path = self.out / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fd:
            for chunk in chunks:
                fd.write(chunk)
