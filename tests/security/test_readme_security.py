"""The README's security and audit commands, run as a user pastes them, and what they leave behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from futago.app import build
from futago.config import Settings
from tests import readme_blocks


def _commands() -> list[str]:
    """The section's blocks this test runs (tests/readme_blocks.py: the privacy release has a test of its own)."""
    return [c.replace("\\\n", " ").strip() for block in readme_blocks.blocks_for(__file__) for c in block.commands()]


def test_readme_security_commands_work(tmp_path: Path) -> None:
    outputs = []
    for command in _commands():
        command = command.replace(".venv/bin/futago", f"{sys.executable} -m futago.cli")
        run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
        outputs.append(run.stdout)
    assert len(outputs) == 9
    key = outputs[0].strip().splitlines()[-1]
    app = build(Settings(db=str(tmp_path / "city.db")))
    try:
        principal = app.security.authenticate_key(key)
        assert principal.subjects[1:] == ("user:sato", "group:operators")
        assert app.security.allowed(principal, "COMMAND", "twins/river-1")
        assert not app.security.allowed(principal, "READ", "twins/river-1/properties/owner")
        assert not app.security.allowed(principal, "WRITE", "twins/river-1")  # not granted, and not in its scopes
    finally:
        app.close()
    verified = json.loads(outputs[5])
    assert verified["ok"] is True and verified["first_bad"] is None and verified["entries"] > 100
    published = json.loads((tmp_path / "open-data" / "buildings" / "metadata.json").read_text())
    assert published["licence"] == "CC BY 4.0" and published["records"]["features"] >= 400
