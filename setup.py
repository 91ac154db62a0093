"""Everything is declared in pyproject.toml; this only builds the dashboard's assets into the wheel.

A wheel built from a fresh checkout runs ``npm ci`` and ``npm run build`` in ``src/futago/web`` first, so the
package serves its dashboard offline with no npm at run time.
"""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).parent / "src" / "futago" / "web"


class BuildPyWithDashboard(build_py):
    def run(self) -> None:
        if not (WEB / "dist" / "index.html").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
            subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)
        super().run()


setup(cmdclass={"build_py": BuildPyWithDashboard})
