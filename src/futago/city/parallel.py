"""Reading a city's files on every core: a worker process per core parses whole source files and hands
back the features, a chunk at a time, in the order a single reader would have yielded them.

Parsing (lxml, then the feature builders) is most of a city import's reading time and each file is
independent, so files are dealt round-robin to the workers, each streaming its features through its own
bounded queue: a worker at most ``QUEUED_CHUNKS`` chunks ahead of the consumer blocks, so memory stays
bounded however large the city, and the consumer takes file after file in order, so what comes out is
exactly what one reader yields, tallies included (each file's tally is merged in file order).

Small inputs stay in the calling process (``workers_for``): starting processes costs more than a few
megabytes take to parse. ``FUTAGO_CITY_WORKERS`` sets the number of workers (0 or 1: read in-process).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import queue as queue_mod
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from futago.city import features as features_module
from futago.city.citygml import CityGmlError, iter_features, iter_sources
from futago.city.features import CityFeature, ReadTally

CHUNK = 256  # features per message: large enough that queue overhead vanishes, small enough to stay bounded
QUEUED_CHUNKS = 8  # per worker: how far a worker may run ahead of the consumer
PARALLEL_FROM_BYTES = 8 << 20  # below this much CityGML (inflated) to read, one process is faster
_WAIT_S = 1.0  # how often the consumer checks that a silent worker is still alive

# (source index, input CRS, features, bytes read so far in that file: 0 when unknown)
Chunk = tuple[int, str, list[Any], int]  # features, or what ``transform`` made of them
Transform = Callable[[list[CityFeature]], list[Any]]  # a chunk of features → what is sent instead


def workers_for(sizes: Sequence[int]) -> int:
    """How many worker processes to read files of these sizes with: 0 means in this process."""
    setting = os.environ.get("FUTAGO_CITY_WORKERS", "").strip()
    if setting:
        try:
            wanted = int(setting)
        except ValueError:
            raise ValueError(f"FUTAGO_CITY_WORKERS must be a whole number, not {setting!r}") from None
        return 0 if wanted <= 1 else min(wanted, len(sizes))
    if len(sizes) < 2 or sum(sizes) < PARALLEL_FROM_BYTES:
        return 0
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, len(sizes))


def read_local(
    sources: Sequence[Any],
    indices: Sequence[int],
    tally: ReadTally | None,
    geometry: str = "full",
    transform: Transform | None = None,
) -> Iterator[Chunk]:
    """The chunks of the given sources, read one after the other in this process (``transform``: see
    ``read_parallel``; ``geometry``: ``iter_features``'s)."""
    for i in indices:
        name, opener, codelists = sources[i]
        with opener() as stream:
            reader = iter_features(stream, codelists=codelists, name=name, tally=tally, geometry=geometry)
            position = getattr(stream, "tell", None)  # zip members cannot tell
            chunk: list[CityFeature] = []
            for feature in reader:
                chunk.append(feature)
                if len(chunk) >= CHUNK:
                    yield i, reader.crs, transform(chunk) if transform else chunk, position() if position else 0
                    chunk = []
            yield i, reader.crs, transform(chunk) if transform else chunk, position() if position else 0


def read_parallel(
    paths: Sequence[str | Path],
    indices: Sequence[int],
    workers: int,
    tally: ReadTally | None,
    transform: Transform | None = None,
    geometry: str = "full",
) -> Iterator[Chunk]:
    """The chunks of the given sources (indices into ``iter_sources(paths)``), read by ``workers`` processes.

    A file that fails raises here exactly as it would in one process (a CityGmlError naming file and line);
    the workers are stopped whenever the consumer stops, early or not. ``transform`` (a module-level function,
    so that it reaches the workers) turns each chunk of features into what is sent instead, in the worker:
    sending a feature costs the consumer about half of what parsing it cost the worker, so a consumer that needs
    only a little of each feature (a GeoJSON line, a twin document...) should have the workers make it.
    ``geometry`` is passed to ``iter_features``.
    """
    context = _context()
    queues: list[Any] = [context.Queue(QUEUED_CHUNKS) for _ in range(workers)]
    dealt = [list(indices[w::workers]) for w in range(workers)]
    procs = [
        context.Process(
            target=_work,
            args=([str(p) for p in paths], dealt[w], queues[w], tally is not None, transform, geometry, _here()),
            daemon=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        for n, i in enumerate(indices):
            w = n % workers
            while True:
                kind, index, *rest = _next(queues[w], procs[w])
                if kind == "error":
                    raise _rebuilt(rest[0])
                if index != i:  # cannot happen: each worker sends its files in the order dealt
                    raise RuntimeError(f"reading worker {w} sent file {index} where {i} was expected")
                if kind == "features":
                    yield i, rest[0], rest[1], 0
                else:  # "end"
                    if tally is not None and rest[0] is not None:
                        merge_tally(tally, rest[0])
                    break
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for q in queues:
            q.close()
            q.cancel_join_thread()


def _context() -> Any:
    """fork where it is safe (no other thread whose locks a child could inherit held); else a fork server
    (a single-threaded process started once, that has already imported the reader and forks each worker from
    itself), else spawn. A spawned worker starts a new interpreter and imports futago again: about a second on a
    busy machine, as long as reading a 10,000-building district takes, and paid again by every call."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload())
        return context
    return multiprocessing.get_context("spawn")


def _preload() -> list[str]:
    """What the fork server imports once, before it forks any worker: the reader, and the futago modules this
    process has loaded, which a worker would otherwise import again when it runs this process's main script."""
    loaded = sorted(name for name in sys.modules if name.startswith("futago."))
    return ["__main__", "futago.city.parallel", "futago.city.footprints", "futago.city.reading", *loaded]


def _next(q: Any, proc: Any) -> tuple[Any, ...]:
    while True:
        try:
            return q.get(timeout=_WAIT_S)
        except queue_mod.Empty:
            if not proc.is_alive() and q.empty():
                message = f"a city reading worker stopped (exit code {proc.exitcode}) before its files were read"
                raise RuntimeError(message) from None


def _here() -> dict[str, str]:
    """This process's environment, which a worker forked by the fork server (started earlier, with the
    environment of then) takes on, as a spawned one would (multiprocessing carries the folder itself)."""
    return dict(os.environ)


def _work(
    paths: list[str],
    indices: list[int],
    q: Any,
    with_tally: bool,
    transform: Transform | None,
    geometry: str,
    environment: dict[str, str],
) -> None:
    """A worker: read each dealt file, sending ("features", i, crs, chunk)... then ("end", i, tally)."""
    current = -1
    try:
        if dict(os.environ) != environment:
            os.environ.clear()
            os.environ.update(environment)
        _send_features_lean()
        sources = list(iter_sources(paths))
        for i in indices:
            current = i
            tally = ReadTally() if with_tally else None
            for _, crs, chunk, _ in read_local(sources, [i], tally, geometry, transform):
                q.put(("features", i, crs, chunk))
            q.put(("end", i, tally))
    except BaseException as exc:  # every failure goes to the consumer, who raises it
        q.put(("error", current, _portable(exc)))


def _portable(exc: BaseException) -> Any:
    """An exception in a form that crosses the process boundary and is raised again as the same error."""
    if isinstance(exc, CityGmlError):
        return ("citygml", exc.file, exc.line, exc.message)
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # one that does not pickle is sent as text
        return ("text", f"{type(exc).__name__}: {exc}")
    return ("exception", exc)


def _rebuilt(portable: Any) -> BaseException:
    kind, *rest = portable
    if kind == "citygml":
        return CityGmlError(*rest)
    if kind == "exception":
        return rest[0]
    return RuntimeError(f"a city reading worker failed: {rest[0]}")


def merge_tally(into: ReadTally, part: ReadTally) -> None:
    """Add one file's tally to the import's, as if one reader had counted both (first examples kept)."""
    for f in dataclasses.fields(part):
        mine, theirs = getattr(into, f.name), getattr(part, f.name)
        if isinstance(mine, Counter):
            mine.update(theirs)
        elif isinstance(mine, dict):
            for key, value in theirs.items():
                mine.setdefault(key, value)
        elif isinstance(mine, list):
            mine.extend(theirs[: max(0, into.WARNINGS_KEPT - len(mine))])
        elif isinstance(mine, int):
            setattr(into, f.name, mine + theirs)


def _send_features_lean() -> None:
    """Pickle this worker's features as (class, field values), rebuilt without dataclasses' per-object
    ``__setstate__`` (which lists the class's fields again for every object): 2.5 times faster to unpickle,
    and unpickling is the consumer's whole share of the reading."""
    from multiprocessing.reduction import ForkingPickler

    for cls in vars(features_module).values():
        if (
            isinstance(cls, type)
            and dataclasses.is_dataclass(cls)
            and cls.__module__ == features_module.__name__
            and "__slots__" in cls.__dict__
        ):
            ForkingPickler.register(cls, _reduce)


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _reduce(obj: Any) -> tuple[Any, tuple[Any, ...]]:
    cls = type(obj)
    return _rebuild, (cls, tuple([getattr(obj, name) for name in _names(cls)]))


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    obj: Any = object.__new__(cls)
    for name, value in zip(_names(cls), values, strict=True):
        object.__setattr__(obj, name, value)
    return obj
