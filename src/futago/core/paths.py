"""Paths that a caller names, confined to a folder the operator chose.

A caller of the API, or a connection stored through it, may name a file: a replay's ``options.path``, a
behaviour's ``artifact``. The server reads it with its own rights, so without a fence any file it can
read (its signing key, the personal-data vault, ``/etc/passwd``) could be pulled out, e.g. as dead letters.
Every such path goes through :meth:`DataRoot.resolve`: one place that follows symlinks, checks containment
and answers the same sentence for every path it refuses, so that no answer tells whether a file outside
the root exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from futago.core.errors import InvalidInput
from futago.core.problems import Problem


def _real(path: Path) -> Path:
    # realpath, not Path.resolve(strict=True): it follows every symlink that exists and never raises, so a
    # missing file and an existing one take the same road until containment is decided.
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class DataRoot:
    """The folder that callers' paths resolve in.

    ``private`` names files inside it that no caller may name however they spell them (the store, its
    write-ahead log, keys and locks beside it): a private path also refuses every path that starts with it,
    so ``futago.db`` covers ``futago.db-wal`` and ``futago.db.keys``.
    """

    root: Path
    private: tuple[Path, ...] = ()
    label: str = "the data root"  # how answers name the folder (never by its real path)

    def resolve(self, name: object, pointer: str, *, must_exist: bool = True) -> Path:
        """The real path of ``name`` (relative names are relative to the root), or InvalidInput at ``pointer``.

        ``must_exist``: the path must be a regular file; a missing one inside the root is named as missing,
        since the root is the caller's to know. The answer never names the real path.
        """
        if not isinstance(name, str) or not name or "\0" in name:
            raise InvalidInput([Problem(pointer, f"a path is a file name inside {self.label}")])
        if ".." in PurePath(name).parts:
            raise InvalidInput([Problem(pointer, f"{name!r} leaves {self.label} ('..' is not allowed)")])
        root = _real(self.root)
        path = _real(root / name)  # an absolute name replaces the root here, then must land inside it
        if not path.is_relative_to(root) or path == root or self._is_private(path):
            # one sentence for every refusal: it must not tell an existing file from a missing one
            raise InvalidInput([Problem(pointer, f"{name!r} is not a file inside {self.label}")])
        if must_exist and not _is_file(path):
            raise InvalidInput([Problem(pointer, f"no file named {name!r} in {self.label}")])
        return path

    def _is_private(self, path: Path) -> bool:
        text = str(path)
        return any(text.startswith(str(_real(private))) for private in self.private)


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; a name the file system refuses (too long, say) is none."""
    try:
        return path.is_file()
    except OSError:
        return False


# What a part gets when it is built without the server's data root (a test, a benchmark): leaving the root out
# must never mean "any file". Every real path starts with the filesystem root, so every one is private here and
# refused with the same sentence as a path outside a real root.
NO_FILES = DataRoot(Path(os.devnull), private=(Path(os.sep),))
