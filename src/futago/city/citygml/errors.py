"""The one error the CityGML reader raises for input it cannot read."""

from __future__ import annotations

from futago.core.errors import FutagoError


class CityGmlError(FutagoError):
    """Malformed, truncated or non-CityGML input.

    The message names the file and the line (lxml's position) so that a person can open the
    file at the right place; the importer raises it before anything is committed.
    """

    status = 422
    title = "Invalid CityGML"

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")
