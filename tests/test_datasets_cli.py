"""``futago datasets``: public datasets listed, fetched and checked file by file, as a user without our folders
gets them. Everything stays offline: the shared data stands in for a filled cache, and a local HTTP server
for the official locations."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from futago.cli import main
from futago.services import public_data
from tests.conftest import SHARED_DATA, free_port

NAMES = {"plateau", "plateau-cities", "plateau-iur3", "skab", "nab", "cmapss", "rec"}


def needs_shared(*folders: str) -> None:
    for folder in folders:
        if not (SHARED_DATA / folder).is_dir():
            pytest.skip(f"real public data not found at {SHARED_DATA / folder} (../shared/data/{folder})")


def run(args: list[str], cache: Path, **env: str) -> Result:
    return CliRunner().invoke(main, args, env={"FUTAGO_DATA": str(cache), "FUTAGO_DATA_MIRROR": "", **env})


@contextmanager
def http_folder(folder: Path) -> Iterator[str]:
    """A real HTTP server over ``folder``, standing in for GitHub or NASA (this machine has no network)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def listing_digest(folder: Path) -> tuple[str, int]:
    """The dataset digest as documented: SHA-256 of the sorted `sha256sum` lines; and the total size."""
    files = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file())
    lines = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {rel}\n" for rel, p in files)
    return hashlib.sha256(lines.encode()).hexdigest(), sum(p.stat().st_size for _, p in files)


def test_list_json_on_the_shared_data_reports_every_dataset_cached_with_its_digest() -> None:
    needs_shared("skab", "nab", "cmapss", "plateau", "plateau-cities", "dtdl/rec")
    result = run(["datasets", "list", "--json"], SHARED_DATA)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["name"] for row in rows} == NAMES
    by_name = {row["name"]: row for row in rows}
    assert by_name.pop("plateau-iur3")["cached"] is False  # the one set ../shared/data does not hold
    for row in by_name.values():
        assert set(row) == {"name", "url", "sha256", "licence", "size_bytes", "cached"}
        assert row["cached"] is True
        assert row["url"].startswith("https://")
        digest, size = listing_digest(SHARED_DATA / public_data.dataset(row["name"]).folder)
        assert (row["sha256"], row["size_bytes"]) == (digest, size), row["name"]
    assert by_name["skab"]["licence"] == "GPL-3.0"
    assert by_name["nab"]["licence"] == by_name["rec"]["licence"] == "MIT"
    assert "PLATEAU" in by_name["plateau"]["licence"]
    assert by_name["skab"]["url"] == "https://raw.githubusercontent.com/waico/SKAB/master/"
    assert "phm-datasets" in by_name["cmapss"]["url"] and by_name["cmapss"]["url"].endswith(".zip")
    assert len(public_data.dataset("rec").files) > 700  # RealEstateCore: 767 Interfaces and its licence


def test_list_json_on_an_empty_cache_says_nothing_is_cached(tmp_path: Path) -> None:
    result = run(["datasets", "list", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["name"]: row["cached"] for row in rows} == dict.fromkeys(NAMES, False)
    assert all(row["size_bytes"] > 60_000 and len(row["sha256"]) == 64 for row in rows)  # plateau-iur3: 64 kB


def test_path_prints_the_cached_folder_and_explains_how_to_fetch_a_missing_one(tmp_path: Path) -> None:
    needs_shared("dtdl/rec", "skab")
    found = run(["datasets", "path", "rec"], SHARED_DATA)
    assert found.exit_code == 0, found.output
    assert found.stdout.strip() == str(SHARED_DATA / "dtdl" / "rec")

    missing = run(["datasets", "path", "skab"], tmp_path)
    assert missing.exit_code == 1
    assert "not in the cache" in missing.output and "futago datasets fetch skab" in missing.output
    unknown = run(["datasets", "path", "imagenet"], tmp_path)
    assert unknown.exit_code == 1 and "cmapss" in unknown.output  # names the datasets there are


def test_fetch_from_a_local_copy_checks_every_file_and_refuses_a_corrupted_one_by_name(tmp_path: Path) -> None:
    needs_shared("skab")
    copy = tmp_path / "usb"
    shutil.copytree(SHARED_DATA / "skab", copy / "skab")
    cache = tmp_path / "cache"
    fetched = run(["datasets", "fetch", "skab", "--from", str(copy)], cache)
    assert fetched.exit_code == 0, fetched.output
    assert listing_digest(cache / "skab") == listing_digest(SHARED_DATA / "skab")
    assert run(["datasets", "path", "skab"], cache).stdout.strip() == str(cache / "skab")

    corrupted = copy / "skab" / "valve1" / "3.csv"
    corrupted.write_bytes(corrupted.read_bytes().replace(b";", b",", 1))
    fresh = tmp_path / "fresh"
    refused = run(["datasets", "fetch", "skab", "--from", str(copy / "skab")], fresh)  # the folder itself works too
    assert refused.exit_code == 1
    assert "valve1/3.csv" in refused.output and "checksum" in refused.output
    assert not (fresh / "skab").exists() and list(fresh.iterdir()) == []  # nothing half-copied, no scratch left
    again = run(["datasets", "fetch", "skab", "--from", str(copy)], cache)
    assert again.exit_code == 1
    assert listing_digest(cache / "skab") == listing_digest(SHARED_DATA / "skab")  # the good copy is kept


def test_fetch_downloads_over_http_with_checksums_and_resumes_without_the_network(tmp_path: Path) -> None:
    needs_shared("nab")
    cache = tmp_path / "cache"
    with http_folder(SHARED_DATA) as url:
        fetched = run(["datasets", "fetch", "nab"], cache, FUTAGO_DATA_MIRROR=url)
    assert fetched.exit_code == 0, fetched.output
    assert listing_digest(cache / "nab") == listing_digest(SHARED_DATA / "nab")
    assert "nab: downloading" in fetched.output  # the progress bar
    # Everything intact: a second fetch needs no server at all.
    offline = run(["datasets", "fetch", "nab", "--mirror", f"http://127.0.0.1:{free_port()}"], cache)
    assert offline.exit_code == 0, offline.output


def test_a_download_that_differs_from_the_manifest_is_refused_by_name(tmp_path: Path) -> None:
    needs_shared("nab")
    mirror = tmp_path / "mirror"
    shutil.copytree(SHARED_DATA / "nab", mirror / "nab")
    labels = mirror / "nab" / "labels" / "combined_windows.json"
    labels.write_text(labels.read_text().replace("2014", "2015", 1))
    cache = tmp_path / "cache"
    with http_folder(mirror) as url:
        refused = run(["datasets", "fetch", "nab", "--mirror", url], cache)
    assert refused.exit_code == 1
    assert "nab/labels/combined_windows.json" in refused.output and "checksum" in refused.output
    assert not (cache / "nab").exists()


def test_an_unreachable_location_fails_clearly_and_leaves_the_cache_alone(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run(["datasets", "fetch", "cmapss", "--mirror", closed], tmp_path)
    assert result.exit_code == 1
    assert "could not download cmapss/" in result.output and closed in result.output
    assert "--from DIR" in result.output  # says what to do instead
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def nasa_like_archive(folder: Path, drop: str | None = None) -> bytes:
    """C-MAPSS as NASA ships it: a zip holding CMAPSSData.zip, which holds the text files."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        for path in sorted((SHARED_DATA / "cmapss").iterdir()):
            if path.name != drop:
                nested.write(path, f"CMAPSSData/{path.name}")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("6. Turbofan Engine Degradation Simulation Data Set/CMAPSSData.zip", inner.getvalue())
    return outer.getvalue()


def test_an_official_archive_is_downloaded_and_each_file_inside_it_checked(tmp_path: Path) -> None:
    needs_shared("cmapss")
    served = tmp_path / "served"
    served.mkdir()
    (served / "cmapss.zip").write_bytes(nasa_like_archive(served))
    (served / "short.zip").write_bytes(nasa_like_archive(served, drop="RUL_FD001.txt"))
    cache = tmp_path / "cache"
    cmapss = public_data.dataset("cmapss")
    with http_folder(served) as url:
        where = public_data.fetch(replace(cmapss, url=f"{url}/cmapss.zip"), cache, mirror="")
        assert where == cache / "cmapss"
        assert listing_digest(where) == listing_digest(SHARED_DATA / "cmapss")
        with pytest.raises(public_data.FetchFailed, match=r"RUL_FD001\.txt: not in the archive"):
            public_data.fetch(replace(cmapss, url=f"{url}/short.zip"), tmp_path / "other", mirror="")
    assert not (tmp_path / "other" / "cmapss").exists()


def test_eval_without_a_path_reads_the_benchmark_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_shared("nab")
    from futago.analytics.evaluation import nab

    seen: list[Path] = []

    def evaluate(path: Path, **options: object) -> dict[str, float]:
        seen.append(path)
        return {"score_standard": 1.0}

    monkeypatch.setattr(nab, "evaluate", evaluate)
    result = run(["eval", "nab", "--json"], SHARED_DATA)
    assert result.exit_code == 0, result.output
    assert seen == [SHARED_DATA / "nab"]

    missing = run(["eval", "skab", "--json"], tmp_path)
    assert missing.exit_code == 1
    assert "futago datasets fetch skab" in missing.output


def test_help_teaches_the_cache_and_the_commands() -> None:
    text = CliRunner().invoke(main, ["datasets", "--help"]).output
    for needle in ("FUTAGO_DATA", "futago datasets fetch --all --from DIR", "futago eval skab", "dtdl/rec/"):
        assert needle in text
    fetch_help = CliRunner().invoke(main, ["datasets", "fetch", "--help"]).output
    assert "--mirror" in fetch_help and "G空間情報センター" in fetch_help


def test_the_rec_archive_gives_the_ontology_folder_and_the_repository_licence(tmp_path: Path) -> None:
    needs_shared("dtdl/rec")
    rec = SHARED_DATA / "dtdl" / "rec"
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "main.zip", "w") as archive:  # GitHub's layout: <repo>-<branch>/...
        archive.writestr("opendigitaltwins-building-main/OWL2DTDL/LICENSE", "a decoy deeper down")
        archive.write(rec / "LICENSE", "opendigitaltwins-building-main/LICENSE")
        for path in sorted(rec.rglob("*.json")):
            archive.write(path, f"opendigitaltwins-building-main/Ontology/{path.relative_to(rec).as_posix()}")
    cache = tmp_path / "cache"
    with http_folder(served) as url:
        where = public_data.fetch(replace(public_data.dataset("rec"), url=f"{url}/main.zip"), cache, mirror="")
    assert where == cache / "dtdl" / "rec"
    assert listing_digest(where) == listing_digest(rec)
    assert not (cache / "rec.download.zip").exists()  # the archive is not kept


def test_a_cache_that_cannot_be_written_is_reported_not_a_traceback(tmp_path: Path) -> None:
    needs_shared("skab")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    result = run(["datasets", "fetch", "skab", "--from", str(SHARED_DATA)], not_a_folder)
    assert result.exit_code == 1
    assert "cannot write to the cache" in result.output and "FUTAGO_DATA" in result.output
    assert not_a_folder.read_text() == "x"
