"""Public datasets as users get them: the benchmarks and sample cities futago's examples use, in a local cache.

Each dataset is a folder of the cache (``$FUTAGO_DATA``, default the user's cache folder), laid out the way
futago reads it: ``skab/``, ``nab/``, ``cmapss/``, ``plateau/``, ``plateau-cities/``, ``dtdl/rec/``. The
manifest (``futago/samples/public_datasets.json``) lists every file with its size and SHA-256, so that a copy
is checked file by file, offline, whether it was downloaded from the official location, extracted from an
official archive or handed over with ``--from``. A dataset's own checksum is the SHA-256 of its file list
(``<sha256>  <path>`` lines, sorted by path, as ``sha256sum`` writes them): it changes when any file does.

Downloads go through pooch, which writes each file under a temporary name, checks its hash and only then
renames it; a fetch first fills a staging folder and moves the files into place once all of them hold, so a
failed or corrupted fetch leaves the cache as it was.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import orjson

from futago.core.errors import FutagoError, InvalidInput, NotFound

DATA_ENV = "FUTAGO_DATA"  # the cache folder
MIRROR_ENV = "FUTAGO_DATA_MIRROR"  # a URL laid out like the cache, tried instead of the official locations
_CHUNK = 1 << 20


class DatasetNotCached(FutagoError):
    status = 404
    title = "Dataset not cached"


class FetchFailed(FutagoError):
    status = 502
    title = "Dataset fetch failed"


@dataclass(frozen=True, slots=True)
class DataFile:
    path: str  # inside the dataset's folder
    remote: str  # relative to the dataset's url, or the path inside its archive
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    folder: str  # inside the cache
    title: str
    licence: str
    source: str  # where the data comes from (home page or portal)
    url: str  # where futago downloads it: a base URL for per-file datasets, else the archive
    archive: bool
    files: tuple[DataFile, ...]

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def sha256(self) -> str:
        listing = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(self.files, key=lambda f: f.path))
        return hashlib.sha256(listing.encode()).hexdigest()


class Progress(Protocol):
    """What a fetch reports as it goes; the CLI draws it as a progress bar."""

    def begin(self, label: str, total: int | None) -> None: ...
    def resize(self, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...
    def end(self) -> None: ...


class NoProgress:
    def begin(self, label: str, total: int | None) -> None:
        pass

    def resize(self, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def end(self) -> None:
        pass


@cache
def datasets() -> tuple[Dataset, ...]:
    """Every public dataset futago knows, in the manifest's order."""
    document = orjson.loads(resources.files("futago.samples").joinpath("public_datasets.json").read_bytes())
    return tuple(_dataset(entry) for entry in document["datasets"])


def _dataset(entry: dict[str, Any]) -> Dataset:
    files = tuple(DataFile(f["path"], f["remote"], int(f["size"]), f["sha256"]) for f in entry["files"])
    fields = {k: entry[k] for k in ("name", "folder", "title", "licence", "source", "url")}
    return Dataset(**fields, archive=bool(entry["archive"]), files=files)


def names() -> list[str]:
    return [d.name for d in datasets()]


def dataset(name: str) -> Dataset:
    for candidate in datasets():
        if name in (candidate.name, candidate.folder):
            return candidate
    raise NotFound(f"no public dataset named {name!r}: futago knows {', '.join(names())}")


def cache_root(environ: dict[str, str] | None = None) -> Path:
    """``$FUTAGO_DATA``, else the user's cache folder (``~/.cache/futago/datasets`` on Linux)."""
    env = os.environ if environ is None else environ
    if env.get(DATA_ENV):
        return Path(env[DATA_ENV]).expanduser()
    import pooch  # only here: the import costs a little, and listing names needs none of it

    return Path(pooch.os_cache("futago")) / "datasets"


def folder(ds: Dataset, root: Path | None = None) -> Path:
    return (root or cache_root()) / ds.folder


def is_cached(ds: Dataset, root: Path | None = None) -> bool:
    """Every file present with its size (checksums are checked when a copy comes in, not on every read)."""
    base = folder(ds, root)
    return all(_has_size(base / f.path, f.size) for f in ds.files)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False


def local_path(name: str, root: Path | None = None) -> Path:
    """The dataset's folder in the cache; an error that says how to fetch it when it is not there."""
    ds = dataset(name)
    base = folder(ds, root)
    if not is_cached(ds, root):
        missing = sum(not _has_size(base / f.path, f.size) for f in ds.files)
        raise DatasetNotCached(
            f"dataset {ds.name} is not in the cache at {base} ({missing} of {len(ds.files)} files missing or "
            f"incomplete): run `futago datasets fetch {ds.name}`, "
            f"or `futago datasets fetch {ds.name} --from DIR` with a copy you have; set {DATA_ENV} to use another cache"
        )
    return base


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(ds: Dataset, base: Path) -> list[str]:
    """A sentence per file of ``base`` that is missing or whose checksum differs from the manifest's."""
    problems = []
    for f in ds.files:
        path = base / f.path
        if not path.is_file():
            problems.append(f"{f.path}: missing")
        elif path.stat().st_size != f.size or sha256_of(path) != f.sha256:
            problems.append(f"{f.path}: checksum differs from the manifest (corrupted or another version)")
    return problems


# ---- fetching ------------------------------------------------------------------------------------------------


def fetch_from(ds: Dataset, source: Path, root: Path | None = None, progress: Progress | None = None) -> Path:
    """Copy a local copy of ``ds`` into the cache, each file checked against the manifest.

    ``source`` is the dataset's folder itself, or a folder holding it under its cache name (``DIR/skab``), so
    that one folder laid out like the cache serves every dataset. A copy already in place is only checked.
    """
    bar = progress or NoProgress()
    base = _source_folder(ds, source)
    target = folder(ds, root)
    if base.resolve() == target.resolve():
        _raise_if(ds, verify(ds, base), f"the cache at {base}")
        return target
    with _staging(ds, root) as stage:
        bar.begin(f"{ds.name}: checking", ds.size_bytes)
        problems = [p for f in ds.files if (p := _copy_checked(base / f.path, stage / f.path, f, bar))]
        bar.end()
        _raise_if(ds, problems, str(base))
        _commit(ds, stage, target)
    return target


def _source_folder(ds: Dataset, source: Path) -> Path:
    if not source.is_dir():
        raise InvalidInput(f"--from {source}: not a folder (give the dataset's folder, or one holding {ds.folder}/)")
    nested = source / ds.folder
    if (source / ds.files[0].path).exists() or not nested.is_dir():
        return source  # the dataset's own folder (a missing file is then named by the check)
    return nested


def _copy_checked(source: Path, destination: Path, entry: DataFile, bar: Progress) -> str | None:
    """Copy one file, hashing it on the way; a sentence when it is missing or differs."""
    if not source.is_file():
        return f"{entry.path}: missing"
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with source.open("rb") as reader, destination.open("wb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                bar.advance(len(chunk))
    except OSError as exc:
        return f"{entry.path}: cannot be copied ({exc.strerror or exc})"
    if digest.hexdigest() != entry.sha256:
        return f"{entry.path}: checksum differs from the manifest (corrupted or another version)"
    return None


def fetch(ds: Dataset, root: Path | None = None, mirror: str | None = None, progress: Progress | None = None) -> Path:
    """Download ``ds`` from its official location (or ``mirror``, laid out like the cache) and check every file.

    Files already in the cache with the right checksum are kept, so an interrupted fetch resumes.
    """
    bar = progress or NoProgress()
    target = folder(ds, root)
    wanted = [f for f in ds.files if not _intact(target / f.path, f)]
    if not wanted:
        return target
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    with _staging(ds, root) as stage:
        if mirror:
            _download_files(ds, wanted, mirror.rstrip("/") + "/" + ds.folder + "/", "path", stage, bar)
        elif ds.archive:
            _extract_archive(ds, wanted, _download_archive(ds, stage, bar), stage, bar)
        else:
            _download_files(ds, wanted, ds.url, "remote", stage, bar)
        _commit(ds, stage, target)
    return target


def _intact(path: Path, entry: DataFile) -> bool:
    return _has_size(path, entry.size) and sha256_of(path) == entry.sha256


def _download_files(ds: Dataset, wanted: list[DataFile], base_url: str, key: str, stage: Path, bar: Progress) -> None:
    import pooch

    bar.begin(f"{ds.name}: downloading", sum(f.size for f in wanted))
    for entry in wanted:
        url = base_url + getattr(entry, key)
        destination = stage / entry.path
        downloader = pooch.HTTPDownloader(progressbar=_PoochBar(bar, entry.size), timeout=60)
        _retrieve(ds, entry.path, url, f"sha256:{entry.sha256}", destination, downloader)
    bar.end()


def _download_archive(ds: Dataset, stage: Path, bar: Progress) -> Path:
    import pooch

    bar.begin(f"{ds.name}: downloading archive", None)
    downloader = pooch.HTTPDownloader(progressbar=_PoochBar(bar, None), timeout=60)
    # The official archives carry no published checksum; each file taken out of it is checked instead.
    archive = stage.parent / f"{ds.name}.download.zip"
    _retrieve(ds, ds.url.rsplit("/", 1)[-1], ds.url, None, archive, downloader)
    bar.end()
    return archive


def _retrieve(ds: Dataset, label: str, url: str, known_hash: str | None, destination: Path, downloader: Any) -> None:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # the progress bar says what is downloading; no line per file
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        pooch.retrieve(
            url, known_hash, fname=destination.name, path=destination.parent, downloader=downloader, progressbar=False
        )
    except ValueError as exc:  # pooch's hash mismatch
        raise FetchFailed(
            f"{ds.name}/{label} downloaded from {url} differs from the manifest's checksum "
            f"(corrupted, or the source changed): {exc}; nothing was changed in the cache"
        ) from exc
    except Exception as exc:  # requests' connection, timeout and HTTP errors: one clear sentence
        raise FetchFailed(
            f"could not download {ds.name}/{label} from {url}: {_reason(exc)}. Check the network, set "
            f"{MIRROR_ENV} to a mirror, or fetch a copy you have with `futago datasets fetch {ds.name} --from DIR`"
        ) from exc


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code} {getattr(response, 'reason', '')}".strip()
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class _PoochBar:
    """pooch's progress-bar interface (total, update, reset, close) in front of a Progress, in bytes."""

    def __init__(self, bar: Progress, size: int | None) -> None:
        self._bar = bar
        self._size = size  # known from the manifest; None for an archive, whose size the server tells
        self._seen = 0
        self._total = 0

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:  # pooch sets it from Content-Length before the first chunk
        self._total = value
        if self._size is None and value:
            self._bar.resize(value)

    def update(self, amount: int) -> None:
        limit = self._size if self._size is not None else self._total
        if limit:
            amount = max(0, min(amount, limit - self._seen))  # pooch counts whole chunks, even the last one
        self._seen += amount
        self._bar.advance(amount)

    def reset(self) -> None:
        pass  # pooch then reports the whole size once more: update() clamps it to what is left

    def close(self) -> None:
        pass


def _extract_archive(ds: Dataset, wanted: list[DataFile], archive: Path, stage: Path, bar: Progress) -> None:
    """Take the wanted files out of the archive (or a zip inside it), by their path inside it, and check them."""
    bar.begin(f"{ds.name}: extracting", sum(f.size for f in wanted))
    found: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(archive) as outer:
            _collect(outer, wanted, found)
    except zipfile.BadZipFile as exc:
        raise FetchFailed(f"{ds.url} did not give a zip archive ({exc}); nothing was changed in the cache") from exc
    finally:
        archive.unlink(missing_ok=True)
    problems = []
    for entry in wanted:
        data = found.get(entry.path)
        if data is None:
            problems.append(f"{entry.path}: not in the archive (looked for .../{entry.remote})")
            continue
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            problems.append(f"{entry.path}: checksum differs from the manifest (corrupted or another version)")
            continue
        (stage / entry.path).parent.mkdir(parents=True, exist_ok=True)
        (stage / entry.path).write_bytes(data)
        bar.advance(len(data))
    bar.end()
    _raise_if(ds, problems, ds.url)


def _collect(archive: zipfile.ZipFile, wanted: list[DataFile], found: dict[str, bytes], depth: int = 0) -> None:
    """Fill ``found`` (dataset path -> bytes) from the members whose path ends with a file's ``remote``.

    Shallower members are taken first, so that the repository's own LICENSE wins over one deeper down.
    """
    by_name: dict[str, list[DataFile]] = {}
    for entry in wanted:
        by_name.setdefault(entry.remote.rsplit("/", 1)[-1], []).append(entry)
    for member in sorted(archive.namelist(), key=lambda name: (name.count("/"), name)):
        for entry in by_name.get(member.rsplit("/", 1)[-1], ()):
            if entry.path not in found and (member == entry.remote or member.endswith("/" + entry.remote)):
                found[entry.path] = archive.read(member)
        if member.lower().endswith(".zip") and depth == 0:  # NASA ships CMAPSSData.zip inside its zip
            with zipfile.ZipFile(io.BytesIO(archive.read(member))) as inner:
                _collect(inner, wanted, found, depth + 1)


# ---- the cache -----------------------------------------------------------------------------------------------


def _raise_if(ds: Dataset, problems: list[str], where: str) -> None:
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise FetchFailed(
            f"{ds.name} from {where} refused, {len(problems)} of {len(ds.files)} files do not match the manifest: "
            f"{shown}. Nothing was changed in the cache"
        )


class _StagingContext:
    """A scratch folder beside the dataset's, removed however the fetch ends."""

    def __init__(self, ds: Dataset, root: Path | None) -> None:
        self._path = (root or cache_root()) / f".{ds.name}.partial"

    def __enter__(self) -> Path:
        shutil.rmtree(self._path, ignore_errors=True)
        try:
            self._path.mkdir(parents=True)
        except OSError as exc:
            raise FetchFailed(
                f"cannot write to the cache {self._path.parent}: {exc.strerror or exc}; "
                f"set {DATA_ENV} to a folder you may write to"
            ) from exc
        return self._path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self._path, ignore_errors=True)


def _staging(ds: Dataset, root: Path | None) -> _StagingContext:
    return _StagingContext(ds, root)


def _commit(ds: Dataset, stage: Path, target: Path) -> None:
    """Move the checked files into the cache (renames on one file system: each file appears whole)."""
    for entry in ds.files:
        staged = stage / entry.path
        if staged.is_file():
            (target / entry.path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target / entry.path)


def summaries(root: Path | None = None) -> list[dict[str, Any]]:
    """``futago datasets list --json``: one object per dataset."""
    base = root or cache_root()
    return [
        {
            "name": d.name,
            "url": d.url,
            "sha256": d.sha256,
            "licence": d.licence,
            "size_bytes": d.size_bytes,
            "cached": is_cached(d, base),
        }
        for d in datasets()
    ]
