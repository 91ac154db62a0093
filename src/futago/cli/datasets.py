"""``futago datasets``: the public datasets futago's examples and benchmarks use, fetched into a local cache.

Not to be confused with ``futago catalog``, the catalog of data imported into a store.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from futago.cli.output import console, print_json, reported_errors
from futago.services import public_data


@click.group("datasets")
def datasets() -> None:
    """Public datasets for the examples and benchmarks: list them, fetch them, find them.

    \b
    The cache is $FUTAGO_DATA, else your user cache folder (~/.cache/futago/datasets on Linux). It is laid
    out as futago reads it: skab/, nab/, cmapss/, plateau/, plateau-cities/, dtdl/rec/.
    \b
      futago datasets list                     what there is, its licence and size, whether it is cached
      futago datasets fetch skab               download from the official location, every file checked
      futago datasets fetch --all --from DIR   copy a local copy (DIR/skab, DIR/nab ...) into the cache
      futago datasets path skab                the local folder, for other tools
      futago eval skab                         benchmarks read the cache when given no path
      futago city import "$(futago datasets path plateau)"
    \b
    Each file's SHA-256 ships with futago, so a copy is checked offline however it arrives; a corrupted
    or different file is refused by name and the cache keeps what it had.
    """


@datasets.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list: name, url, sha256, licence, size_bytes, cached."
)
def list_datasets(as_json: bool) -> None:
    """List the public datasets, their licences and sizes, and whether each is in the cache.

    \b
    In --json, `url` is where futago downloads from (a base URL the manifest's file paths are appended to,
    or the official archive); `sha256` is the dataset's digest: the SHA-256 of its `sha256sum`-style file
    list (one "<sha256>  <path>" line per file, sorted by path), so it changes when any file does.
    """
    with reported_errors():
        rows = public_data.summaries()
    if as_json:
        print_json(rows)
        return
    table = Table("name")
    table.add_column("what, and where it comes from", overflow="fold", ratio=3)
    table.add_column("licence", overflow="fold", ratio=1)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("cached")
    for row, ds in zip(rows, public_data.datasets(), strict=True):
        what = f"{ds.title}\n[dim]{ds.source}[/dim]"
        table.add_row(ds.name, what, ds.licence, _megabytes(ds.size_bytes), "yes" if row["cached"] else "no")
    Console().print(table)
    console.print(f"cache: {public_data.cache_root()} (set ${public_data.DATA_ENV} to use another folder)")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@datasets.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Every dataset futago knows.")
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="Copy a local copy instead of downloading: the dataset's folder, or a folder holding it by its "
    "cache name (DIR/skab, DIR/dtdl/rec ...). Every file is checked against the manifest.",
)
@click.option(
    "--mirror",
    metavar="URL",
    help=f"Download from a mirror laid out like the cache (URL/skab/valve1/0.csv ...) instead of the official "
    f"locations (default ${public_data.MIRROR_ENV}).",
)
def fetch(names: tuple[str, ...], fetch_all: bool, source: Path | None, mirror: str | None) -> None:
    """Fetch public datasets into the cache, checking every file's SHA-256.

    \b
    Downloads come from the official locations (futago datasets list shows them): SKAB and NAB from their
    GitHub repositories, C-MAPSS from NASA's archive, RealEstateCore from Azure/opendigitaltwins-building,
    the PLATEAU samples from the PLATEAU GIS Converter's published test data (cut from the G空間情報センター
    city models). Files already cached and intact are kept, so a fetch that stopped resumes.
    \b
      futago datasets fetch skab nab
      futago datasets fetch --all --from /media/usb/futago-data
    """
    if fetch_all == bool(names):
        raise click.UsageError(f"name datasets or give --all (one of: {', '.join(public_data.names())})")
    with reported_errors():
        chosen = public_data.datasets() if fetch_all else tuple(public_data.dataset(n) for n in names)
        root = public_data.cache_root()
        with _RichProgress() as bar:
            for ds in chosen:
                if source is not None:
                    where = public_data.fetch_from(ds, source, root, progress=bar)
                else:
                    where = public_data.fetch(ds, root, mirror=mirror, progress=bar)
                console.print(f"[green]✓[/green] {ds.name}: {len(ds.files)} files checked in {where} ({ds.licence})")


@datasets.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the local folder of a cached dataset (exit 1, saying how to fetch it, when it is not cached).

    \b
      futago eval nab "$(futago datasets path nab)"
    """
    with reported_errors():
        click.echo(str(public_data.local_path(name)))


class _RichProgress:
    """public_data's Progress drawn as a rich progress bar on stderr, one bar per step."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def begin(self, label: str, total: int | None) -> None:
        self._task = self._progress.add_task(label, total=total)

    def resize(self, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def end(self) -> None:
        if self._task is not None:
            task = next(t for t in self._progress.tasks if t.id == self._task)
            if task.total is None:  # a server that sent no size: the bar ends full all the same
                self._progress.update(self._task, total=task.completed)
        self._task = None
