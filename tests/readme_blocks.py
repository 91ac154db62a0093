"""Every shell block of the README, as a reader pastes it, and which test runs it.

A block is a fenced ```bash, ```sh, ```shell or ```console block. Each one is either run by exactly one test
(``RUNNERS``: by its ``###`` heading, else its ``##`` heading) or named in ``NOT_RUN`` with the reason;
tests/test_readme_blocks.py fails on a block that is neither, so a new example cannot escape the tests.
A runner takes its blocks with ``blocks_for(__file__)`` and runs them in a ``workspace`` (a folder laid out
as a checkout: ``.venv`` and ``src`` link to this one's), so the commands run verbatim, paths and all.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
#: The data set cache the commands read: $FUTAGO_DATA where the caller set one (scripts/check-fresh-clone.sh
#: fills one with `futago datasets fetch --from`), else ../shared/data, which is laid out as a filled cache.
SHARED_DATA = Path(os.environ["FUTAGO_DATA"]) if os.environ.get("FUTAGO_DATA") else REPO.parent / "shared" / "data"
SHELLS = ("bash", "sh", "shell", "console")

#: The test that runs the blocks under a heading (a ``###`` heading wins over its ``##``).
RUNNERS: dict[str, str] = {
    "A five-minute tour": "tests/test_readme_tour.py",
    "Connecting devices": "tests/test_readme_tour.py",
    "Simulation, forecasts and analytics": "tests/test_readme_tour.py",
    "Alerts, notifications and commands: the flood scenario": "tests/test_readme_tour.py",
    "The 3D city": "tests/city/test_readme_city.py",
    "Security: who may do what": "tests/security/test_readme_security.py",
    "Privacy-safe release": "tests/test_readme_privacy.py",
    "NGSI-LD: a context broker over the same twins": "tests/test_readme_ngsild.py",
}

#: Blocks no test runs, by their first command line, with the reason.
NOT_RUN: dict[str, str] = {
    "make demo": "the set-up itself (installs packages, builds the dashboard) and the whole suite: CI runs make test",
    "scripts/run-at-scale.sh": (
        "starts PostgreSQL, NATS and Mosquitto and serves until stopped; tests/scale covers each piece"
    ),
    "futago db upgrade --db postgresql://futago@db:5432/futago": (
        "names machines (db, nats) that exist only in a deployment; tests/scale and tests/store run the same commands"
    ),
}


@dataclass(frozen=True)
class Block:
    """One shell block of the README."""

    language: str
    text: str
    line: int  # of the opening fence, 1-based
    section: str  # its "## " heading
    subsection: str | None  # its "### " heading, if any

    @property
    def first_line(self) -> str:
        """The first line that is not a comment, without its trailing comment: what names the block in
        ``NOT_RUN``."""
        line = next(line for line in self.text.splitlines() if line.strip() and not line.startswith("#"))
        return re.sub(r"\s+#\s.*$", "", line).strip()

    @property
    def runner(self) -> str | None:
        """The test that runs this block, by its heading."""
        return RUNNERS.get(self.subsection or "") or RUNNERS.get(self.section)

    def commands(self) -> list[str]:
        """The block split into the commands a person pastes one at a time: a line that ends in a backslash,
        a pipe or ``&&``, or leaves a single quote open, goes on into the next. Comment lines are left out."""
        commands, current, quote = [], "", ""
        for line in self.text.splitlines():
            if not current and (not line.strip() or line.lstrip().startswith("#")):
                continue
            current += line + "\n"
            quote, code = _scan(line, quote)
            if not quote and not code.rstrip().endswith(("\\", "|", "&&")):
                commands.append(current)
                current = ""
        assert not current, f"README.md:{self.line}: a command is left open at the end of its block"
        return commands


def _scan(line: str, quote: str) -> tuple[str, str]:
    """The quote still open after ``line`` (given the one open before it), and the line without its comment:
    an apostrophe in a comment ("your city's files") opens nothing."""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote and (quote == "'" or line[index - 1] != "\\") else quote
        elif char in "'\"" and (index == 0 or line[index - 1] != "\\"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return quote, line[:index]
    return quote, line


_FENCE = re.compile(r"^```(\S*)\s*$")


def blocks(text: str | None = None) -> list[Block]:
    """Every shell block of the README (or of ``text``), in order."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: list[Block] = []
    section, subsection = "", None
    fence: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(lines, 1):
        opening = _FENCE.match(line)
        if fence is not None:
            if line.strip() == "```":
                language, start, body = fence
                if language in SHELLS:
                    found.append(Block(language, "\n".join(body) + "\n", start, section, subsection))
                fence = None
            else:
                fence[2].append(line)
        elif opening:
            fence = (opening.group(1), number, [])
        elif line.startswith("## "):
            section, subsection = line[3:].strip(), None
        elif line.startswith("### "):
            subsection = line[4:].strip()
    return found


def blocks_for(test_file: str | os.PathLike[str]) -> list[Block]:
    """The blocks ``test_file`` (a runner's ``__file__``) runs."""
    name = Path(test_file).resolve().relative_to(REPO).as_posix()
    chosen = [block for block in blocks() if block.runner == name and block.first_line not in NOT_RUN]
    assert chosen, f"README.md has no shell block for {name}"
    return chosen


def workspace(folder: Path) -> Path:
    """``folder`` made to look like a checkout to the README's commands: ``.venv`` and ``src`` are this
    checkout's, so ``.venv/bin/futago`` and ``src/futago/samples/...`` work; everything they write stays here."""
    for name in (".venv", "src"):
        link = folder / name
        if not link.exists():
            link.symlink_to(REPO / name, target_is_directory=True)
    return folder


def environment(**extra: str) -> dict[str, str]:
    """The environment the commands run in: the data set cache is ../shared/data, no API token."""
    return {**os.environ, "FUTAGO_DATA": str(SHARED_DATA), "FUTAGO_API_TOKEN": "", **extra}


def run(command: str, cwd: Path, base_url: str | None = None, timeout: float = 120, stderr: bool = False) -> str:
    """Run one README command in bash as written (its server at ``base_url`` instead of port 8000); fail the
    test, with the command and its output, when it exits non-zero. Returns its standard output (and then its
    standard error, where progress and verdict lines go, with ``stderr``)."""
    if base_url is not None:
        command = command.replace("http://127.0.0.1:8000", base_url)
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout + (done.stderr if stderr else "")
