"""The OPC UA connector (an ingest ``Connector``): monitored items of a server become raw messages for the
ingest pipeline.

Each subscribed node's data changes become one ``RawMessage`` whose ``source`` is the node's
``source`` name and whose payload is JSON::

    {"value": <value>, "ts": <source timestamp, epoch ms>, "quality": <QARTOD flag>}

The StatusCode severity maps to a QARTOD flag: Good → 2 (not evaluated: the server vouches for
the value, but no QARTOD test has judged it yet), Uncertain → 3 (suspect), Bad → 4 (fail).
A Bad value is null by the standard (Part 4, 7.7.1), so its change reaches the mapping with
no value and becomes a dead letter whose payload keeps the flag and the StatusCode's name
(``"status": "BadSensorFailure"``); only a server that sends a value with its Bad status gives a
reading flagged 4. The mappings of an OPC UA connection read the payload with the json format's defaults for
value and timestamp, plus the quality, which must be named::

    {"source": "ns=2;s=Plant.Reactor.Temperature", "twin": "reactor-1", "telemetry": "temperature",
     "format": "json", "value": "value", "timestamp": "ts", "quality": "quality"}

Options::

    endpoint                opc.tcp://host:port/path (required)
    username, password      user-name authentication (optional)
    security                asyncua's security string, "Policy,Mode,certificate,private_key[,server_cert]",
                            e.g. "Basic256Sha256,SignAndEncrypt,cert.pem,key.pem" (optional); the
                            files lie inside the data root (relative names are relative to it)
    key_password            the private key's password, when it is locked (a secret: never shown)
    publishing_interval_ms  the subscription's publishing interval (default 500)
    nodes                   [{"node": "ns=2;s=..."} | {"browse_path": "0:Objects/2:Plant/..."},
                             optional "source": the RawMessage source (default: the NodeId or
                             browse path string as given)]
    batch_size              flush to the pipeline after this many changes (default 500)
    flush_interval_ms       ... or this long after the first unflushed change (default 200)
    request_timeout_ms      the timeout of each request to the server (default 5000)
    keepalive_ms            how often the connection's health is checked (default 1000)
    reconnect_max_delay_ms  the cap of the reconnect back-off (default 30000)

The connector runs its own asyncio loop in a thread, so the rest of futago stays synchronous;
a second thread hands batches to the sink so that a slow store never stalls the OPC UA client.
A lost connection (failed keepalive read, or a subscription status change) is torn down and
made again with exponential back-off, and the subscription is created anew, because a
restarted server has forgotten it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from asyncua import Client, Node, ua

from futago.core.errors import FutagoError, InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED
from futago.ingest.connections import ConnectionSpec
from futago.ingest.connector import Connector, Sink
from futago.ingest.mapping import RawMessage
from futago.protocols.opcua.client import (
    OpcUaError,
    OpcUaUnavailable,
    describe_error,
    open_client,
    output_count,
    typed_arguments,
)
from futago.protocols.opcua.payloads import payload_of, quality_of
from futago.protocols.opcua.settings import NodeSpec, OpcUaOptions, valid_browse_path, valid_node_id

log = logging.getLogger(__name__)
T = TypeVar("T")

_QUEUE_LIMIT = 100_000  # changes held while the sink is slower than the server


class _Handler:
    """asyncua calls this on the connector's loop; it only queues, never blocks."""

    def __init__(self, connector: OpcUaConnector, sources: dict[Any, str], generation: int) -> None:
        self.connector = connector
        self.sources = sources  # NodeId → source name
        self.generation = generation

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        source = self.sources.get(node.nodeid)
        if source is None:
            return
        item = getattr(data, "monitored_item", None)
        data_value = getattr(item, "Value", None)
        self.connector._received(RawMessage(source, payload_of(val, data_value), time.time_ns() // 1000))

    def status_change_notification(self, status: Any) -> None:
        code = getattr(status, "Status", None)
        if code is not None and quality_of(code) != QUALITY_NOT_EVALUATED:
            self.connector._lost(self.generation, f"the server reported subscription status {code}")


class OpcUaConnector:
    """One client session with one subscription; see the module docstring."""

    def __init__(self, name: str, options: OpcUaOptions, sink: Sink) -> None:
        self.name = name
        self.options = options
        self.sink = sink
        self._queue: queue.Queue[RawMessage | None] = queue.Queue(maxsize=_QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._state = "stopped"
        self._reconnects = 0
        self._last_error: str | None = None
        self._node_status: dict[str, str] = {}
        self._counts = {"received": 0, "delivered": 0, "dropped": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._main: asyncio.Task[None] | None = None
        self._client: Client | None = None
        self._nodes: dict[str, Node] = {}  # source → resolved node, of the current session
        self._generation = 0
        self._lost_event: asyncio.Event | None = None
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._loop_thread is not None:
            return
        self._stopping.clear()
        self._set(state="connecting")
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._loop_thread = threading.Thread(
            target=self._run_loop, args=(started,), name=f"opcua-{self.name}", daemon=True
        )
        self._worker = threading.Thread(target=self._deliver, name=f"opcua-{self.name}-sink", daemon=True)
        self._loop_thread.start()
        started.wait(5)
        self._worker.start()

    def _run_loop(self, started: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._lost_event = asyncio.Event()
        self._main = loop.create_task(self._supervise())
        started.set()
        try:
            loop.run_until_complete(self._main)
        except asyncio.CancelledError:
            pass
        finally:
            # asyncua may leave its own tasks behind (a renew loop, a handler call); end them here
            # rather than let the closed loop report them as destroyed while pending.
            leftover = asyncio.all_tasks(loop)
            for task in leftover:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._loop_thread
        if thread is None or loop is None:
            return
        self._stopping.set()
        timeout = self.options.request_timeout_ms / 1000 + 2
        if not loop.is_closed() and self._main is not None:
            loop.call_soon_threadsafe(self._main.cancel)
        thread.join(timeout)
        self._queue.put(None)  # after the loop, so that every queued change is delivered first
        if self._worker is not None:
            self._worker.join(timeout + 5)
        self._loop_thread = self._worker = self._loop = None
        self._set(state="stopped")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self._state,
                "endpoint": self.options.endpoint,
                "reconnects": self._reconnects,
                "last_error": self._last_error,
                "nodes": dict(self._node_status),
                **self._counts,
                "pending": self._queue.qsize(),
            }

    def _set(self, state: str | None = None, error: str | None = None) -> None:
        with self._lock:
            if state is not None:
                self._state = state
            if error is not None:
                self._last_error = error

    # -- the session, on the connector's loop ----------------------------------------------

    async def _supervise(self) -> None:
        """Connect, watch, and reconnect with back-off until cancelled."""
        delay = 0.5
        ever_ran = False
        try:
            while True:
                try:
                    await self._connect()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._set(error=f"connecting to {self.options.endpoint} failed: {describe_error(exc)}")
                    log.warning("OPC UA %s: %s; retrying in %.1f s", self.name, self._last_error, delay)
                    await self._disconnect()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.options.reconnect_max_delay_ms / 1000)
                    continue
                delay = 0.5
                if ever_ran:
                    with self._lock:
                        self._reconnects += 1
                ever_ran = True
                self._set(state="running")
                reason = await self._watch()
                self._set(state="reconnecting", error=reason)
                log.warning("OPC UA %s: connection lost (%s); reconnecting", self.name, reason)
                await self._disconnect()
        finally:
            await asyncio.shield(self._disconnect())

    async def _connect(self) -> None:
        opts = self.options
        client = await open_client(opts)
        self._client = client
        self._generation += 1
        assert self._lost_event is not None
        self._lost_event.clear()
        await asyncio.wait_for(client.connect(), opts.request_timeout_ms / 1000)
        resolved: dict[str, Node] = {}
        statuses: dict[str, str] = {}
        for spec in opts.nodes:
            try:
                resolved[spec.source] = await self._resolve(client, spec)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                statuses[spec.source] = f"not found: {describe_error(exc)}"
        handler = _Handler(self, {node.nodeid: source for source, node in resolved.items()}, self._generation)
        subscription = await client.create_subscription(opts.publishing_interval_ms, handler)
        sources = list(resolved)
        handles = await subscription.subscribe_data_change([resolved[s] for s in sources]) if sources else []
        for source, handle in zip(sources, handles, strict=True):
            statuses[source] = "subscribed" if isinstance(handle, int) else f"refused: {handle}"
        self._nodes = resolved
        with self._lock:
            self._node_status = {spec.source: statuses[spec.source] for spec in opts.nodes}
        failed = [s for s, text in statuses.items() if text != "subscribed"]
        if failed:
            self._set(error=f"nodes not subscribed: {', '.join(f'{s} ({statuses[s]})' for s in failed)}")

    @staticmethod
    async def _resolve(client: Client, spec: NodeSpec) -> Node:
        if spec.node is not None:
            return client.get_node(spec.node)
        assert spec.browse_path is not None
        steps = [ua.QualifiedName.from_string(step) for step in spec.browse_path.split("/")]
        return await client.nodes.root.get_child(steps)

    async def _watch(self) -> str:
        """Return why the session is lost: a failed keepalive read or a status change."""
        assert self._client is not None and self._lost_event is not None
        state_node = self._client.get_node(ua.ObjectIds.Server_ServerStatus_State)
        interval = self.options.keepalive_ms / 1000
        while True:
            try:
                await asyncio.wait_for(self._lost_event.wait(), interval)
                return self._last_error or "the subscription failed"
            except TimeoutError:
                pass
            try:
                await asyncio.wait_for(state_node.read_value(), self.options.request_timeout_ms / 1000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                return f"keepalive failed: {describe_error(exc)}"

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        self._nodes = {}
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), 2.0)
        except BaseException:  # the server is usually gone already; only the socket matters now
            with contextlib.suppress(Exception):
                client.disconnect_socket()

    def _lost(self, generation: int, reason: str) -> None:
        if generation == self._generation and self._lost_event is not None:
            self._set(error=reason)
            self._lost_event.set()

    def _received(self, message: RawMessage) -> None:
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            with self._lock:
                self._counts["dropped"] += 1
            return
        with self._lock:
            self._counts["received"] += 1

    # -- delivery, on the worker thread ----------------------------------------------------

    def _deliver(self) -> None:
        """Batch queued changes (every batch_size, or flush_interval_ms after the first)."""
        size, wait = self.options.batch_size, self.options.flush_interval_ms / 1000
        done = False
        while not done:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + wait
            while len(batch) < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            self._flush(batch)

    def _flush(self, batch: Sequence[RawMessage]) -> None:
        """Hand a batch to the sink; retry while the store fails, until the connector stops."""
        delay = 0.2
        while True:
            try:
                self.sink(batch)
            except Exception as exc:
                self._set(error=f"storing a batch failed: {describe_error(exc)}")
                log.exception("OPC UA %s: the sink failed on %d changes", self.name, len(batch))
                if self._stopping.is_set():
                    log.error("OPC UA %s: dropping %d changes on stop", self.name, len(batch))
                    return
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            with self._lock:
                self._counts["delivered"] += len(batch)
            return

    # -- write-back, from any thread --------------------------------------------------------

    def read(self, node: str) -> Any:
        """The current value of a node (a configured source name, a NodeId or a browse path)."""
        return self._on_loop(self._read(node), f"reading {node}")

    def write(self, node: str, value: Any, variant_type: str | None = None) -> None:
        """Write a node's value; without ``variant_type`` the node's own data type is used."""
        if variant_type is not None and variant_type not in ua.VariantType.__members__:
            raise InvalidInput(
                [Problem("/variant_type", f"unknown variant type '{variant_type}'; e.g. Double, Float, Int32")]
            )
        self._on_loop(self._write(node, value, variant_type), f"writing {node}")

    def call(self, object_node: str, method_node: str, *args: Any) -> list[Any]:
        """Call a method and return its output arguments (an empty list when it has none)."""
        return self._on_loop(self._call(object_node, method_node, args), f"calling {method_node}")

    def _on_loop(self, coroutine: Coroutine[Any, Any, T], what: str) -> T:
        loop = self._loop
        if loop is None or loop.is_closed() or self._client is None or self.status()["state"] != "running":
            coroutine.close()
            raise OpcUaUnavailable(
                f"OPC UA connection '{self.name}' is {self.status()['state']}; {what} needs it running. "
                "Retry when its status is 'running'."
            )
        timeout = self.options.request_timeout_ms / 1000
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, timeout), loop)
        try:
            return future.result(timeout + 1)
        except (TimeoutError, FutureTimeout):
            future.cancel()
            raise OpcUaError(
                f"{what} on '{self.name}' got no answer within {timeout:g} s; "
                "check the server, or raise request_timeout_ms"
            ) from None
        except FutagoError:
            raise
        except Exception as exc:
            raise OpcUaError(f"{what} on '{self.name}' failed: {describe_error(exc)}") from exc

    async def _node(self, name: str) -> Node:
        client = self._client
        if client is None:
            raise OpcUaUnavailable(f"OPC UA connection '{self.name}' is not connected")
        if name in self._nodes:
            return self._nodes[name]
        if valid_browse_path(name) and "/" in name:
            steps = [ua.QualifiedName.from_string(step) for step in name.split("/")]
            return await client.nodes.root.get_child(steps)
        if not valid_node_id(name):
            raise InvalidInput([Problem("/node", f"'{name}' is no configured source, NodeId or browse path")])
        return client.get_node(name)

    async def _read(self, name: str) -> Any:
        return await (await self._node(name)).read_value()

    async def _write(self, name: str, value: Any, variant_type: str | None) -> None:
        node = await self._node(name)
        variant = (
            ua.VariantType[variant_type] if variant_type is not None else await node.read_data_type_as_variant_type()
        )
        await node.write_value(ua.DataValue(ua.Variant(value, variant)))

    async def _call(self, object_name: str, method_name: str, args: tuple[Any, ...]) -> list[Any]:
        parent = await self._node(object_name)
        method = await self._node(method_name)
        inputs = await typed_arguments(method, args)
        result = await parent.call_method(method.nodeid, *inputs)
        if result is None:
            return []
        # asyncua unwraps a single output; the method's declared outputs tell which case this is.
        outputs = await output_count(method)
        return list(result) if outputs > 1 else [result]


def opcua_connector(spec: ConnectionSpec, sink: Sink, files: DataRoot = NO_FILES) -> Connector:
    """The ``opcua`` connector factory; raises InvalidInput with pointers under /options. ``files``: the data
    root that the security string's files must lie in."""
    return OpcUaConnector(spec.name, OpcUaOptions.parse(spec.options, files), sink)
