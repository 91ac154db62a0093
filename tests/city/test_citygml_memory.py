"""Memory stays bounded on a file far larger than the budget: the reader frees each member."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.city.citygml_fixtures import BLDG, plateau_dir

COPIES = 50_000


def write_big_file(path: Path, copies: int) -> int:
    """Concatenate ``copies`` copies of the fixture's first building into one CityGML file."""
    text = (plateau_dir() / BLDG).read_text(encoding="utf-8-sig")
    start = text.index("<core:cityObjectMember>")
    end = text.index("</core:cityObjectMember>") + len("</core:cityObjectMember>")
    head, member, tail = text[:start], text[start:end], "\n</core:CityModel>\n"
    parts = re.split(r'gml:id="bldg_[^"]*"', member, maxsplit=1)
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for i in range(copies):
            out.write(f'{parts[0]}gml:id="bldg_{i}"{parts[1]}\n')
        out.write(tail)
    return path.stat().st_size


@pytest.mark.slow
def test_peak_memory_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.gml"
    size = write_big_file(path, COPIES)
    assert size > 250_000_000
    script = textwrap.dedent(
        f"""
        import resource, time
        from futago.city.citygml import iter_features
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        n = sum(1 for _ in iter_features({str(path)!r}))
        dt = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(n, (after - before) // 1024, round(n / dt))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    count, growth_mb, per_second = int(out[0]), int(out[1]), int(out[2])
    print(f"{size / 1e6:.0f} MB, {count} buildings, peak RSS growth {growth_mb} MB, {per_second} buildings/s")
    assert count == COPIES
    assert growth_mb < 100, f"peak RSS grew {growth_mb} MB reading {size / 1e6:.0f} MB"
