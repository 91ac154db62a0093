"""Dask for Monte Carlo ensembles and batch scenario sweeps: the same answers, computed on more machines.

``run_ensemble`` splits members into chunks seeded from one ``SeedSequence``, and the scenarios of a sweep are
independent once their inputs are gathered. Both therefore take a *mapper* (``map(fn, *iterables)``, answers in
input order), and a Dask client's ``map`` then ``gather`` is all it takes to spread them over a cluster: the
result for a seed is the same, to the bit, as the in-process one.

``dask_mapper(address)`` opens a client on a running scheduler (``tcp://host:port``, e.g. started with
``dask scheduler`` and ``dask worker``) or on a small ``LocalCluster`` of its own (``"local"``), and closes what it
opened. The address comes from ``--dask``, ``FUTAGO_DASK`` or ``[sim] dask``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem

if TYPE_CHECKING:
    from distributed import Client

    from futago.sim.runtime import BehaviourRuntime

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCAL = "local"
POINTER = "/sim/dask"  # the setting's place in futago.toml; the message names the flag and the variable too
WHERE = "--dask, FUTAGO_DASK or sim.dask in futago.toml"  # no [brackets]: the CLI prints with rich markup
#: A LocalCluster small enough for a laptop or a CI runner: processes, so numpy work runs truly in parallel.
LOCAL_WORKERS = 2


class ClusterUnavailable(FutagoError):
    """The Dask scheduler cannot be reached, has no workers, or went away during the work."""

    status = 503
    title = "Service unavailable"


class DaskMapper:
    """A ``map`` that runs each call as a Dask task and gathers the answers in input order."""

    def __init__(self, client: Client, address: str) -> None:
        self.client = client
        self.address = address

    def __call__(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> list[T]:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        # pure=False: every call is computed, never taken from an earlier call's result that is still held.
        futures = self.client.map(fn, *[list(items) for items in iterables], pure=False)
        try:
            results: list[T] = self.client.gather(futures)
        except (CommClosedError, KilledWorker) as exc:  # the cluster failed, not the task: say so, not a traceback
            self.client.cancel(futures)
            raise ClusterUnavailable(
                f"lost the Dask cluster at {self.address} during the work: {type(exc).__name__}: {exc}",
                [Problem(POINTER, f"the cluster at {self.address} went away or its workers died; run again")],
            ) from exc
        except BaseException:  # a task's own error (e.g. InvalidInput) passes as it is; stop the others first
            self.client.cancel(futures)
            raise
        return results

    def sweep(
        self,
        runtime: BehaviourRuntime,
        behaviour: str,
        twin_id: str,
        at_us: int,
        scenarios: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        """A batch of what-if scenarios of one twin, each a task on the cluster, answered in input order (with
        the baseline, run here, and each scenario's difference from it): ``futago.sim.scenario.sweep``."""
        from futago.sim.scenario import sweep

        return sweep(runtime, behaviour, twin_id, at_us, scenarios, mapper=self)


def check_address(address: str, pointer: str = POINTER) -> str:
    """``"local"``, or a scheduler address ``tcp://host:port``; anything else is refused before connecting."""
    address = address.strip()
    if address == LOCAL:
        return address
    usage = f"a Dask scheduler address is tcp://host:port (e.g. tcp://10.0.0.5:8786), or 'local' ({WHERE})"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme != "tcp" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise InvalidInput([Problem(pointer, f"{address!r}: {usage}")])
    return address


@contextmanager
def dask_mapper(address: str, *, timeout_s: float = 10.0, pointer: str = POINTER) -> Iterator[DaskMapper]:
    """A ``DaskMapper`` on the scheduler at ``address`` (or on a LocalCluster of its own for ``"local"``), with at
    least one worker; the client, and the cluster it started, are closed on the way out."""
    from distributed import Client, LocalCluster

    address = check_address(address, pointer)
    cluster = None
    try:
        if address == LOCAL:
            # Bound to loopback with no dashboard: nothing is opened to the network that the user did not ask for.
            cluster = LocalCluster(
                n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
                host="127.0.0.1",
            )  # fmt: skip
            client = Client(cluster, set_as_default=False, timeout=timeout_s)
        else:
            # set_as_default=False: other dask code in this process keeps its own scheduler.
            client = Client(address, set_as_default=False, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            [Problem(pointer, f"no Dask scheduler answers at {address} within {timeout_s:g} s ({WHERE})")],
        ) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(
                f"the Dask scheduler at {address} has no workers",
                [Problem(pointer, f"start workers with: dask worker {address}")],
            ) from exc
        yield DaskMapper(client, address)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def maybe_dask(address: str | None, *, pointer: str = POINTER) -> Iterator[DaskMapper | None]:
    """``dask_mapper`` when an address is configured, else None (run in process)."""
    if not address:
        yield None
        return
    with dask_mapper(address, pointer=pointer) as mapper:
        log.info("ensembles and scenario sweeps run on Dask at %s", address)
        yield mapper
