"""A simulated plant: a continuous stirred-tank reactor (CSTR) behind a real asyncua server.

The plant scenario and the tests run it as a subprocess (``python -m futago.scenarios.plant_server
--port P``, see ``plant_process.py``) so that they can kill it and start it again on the same port, which
is how a real server restart looks to the connector. It prints ``ready`` once it is listening.

Address space (namespace 2, string NodeIds so that tests can name them)::

    Objects/Plant/Reactor
        Temperature    Double  K, controlled towards Setpoint by the coolant flow
        Concentration  Double  mol/L of the reactant
        CoolantFlow    Double  L/min, a proportional controller's output
        Running        Boolean
        Mode           String  "auto"; a value no numeric telemetry accepts
        Setpoint       Double  writable by clients
        SetSetpoint(value: Double) -> Boolean   applies a setpoint within 300-400 K
        SetQuality(quality: String) -> Boolean  "good", "uncertain" or "bad": the StatusCode
                                                that Temperature is published with from now on
        InjectFault(kind: String) -> Boolean    "fouling": the cooling jacket loses most of its heat
                                                transfer, so the reactor runs hot; "none" repairs it

Source timestamps are the simulation ticks, aligned to whole 100 ms, so a test can tell a
source timestamp from the time the connector received the value.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import signal
import sys
from datetime import UTC, datetime
from typing import Any, cast

from asyncua import Server, ua
from asyncua.common.methods import uamethod
from asyncua.common.node import Node

NAMESPACE = "urn:futago:test:plant"
#: Heat transfer left to the cooling jacket by each fault (a share of the clean jacket's).
FAULTS = {"none": 1.0, "fouling": 0.35}
TICK_S = 0.1
QUALITIES = {
    "good": ua.StatusCodes.Good,
    "uncertain": ua.StatusCodes.UncertainLastUsableValue,
    "bad": ua.StatusCodes.BadSensorFailure,
}


def _node(name: str, ns: int) -> ua.NodeId:
    return ua.NodeId(ua.String(name), ua.Int16(ns))


class Reactor:
    """First-order exothermic reaction A → B in a cooled tank (the classic Seborg CSTR).

    Time is in minutes of plant time; each wall-clock tick advances it by ``minutes_per_tick``
    so that the values move visibly within a test.
    """

    q, volume, feed_conc, feed_temp = 100.0, 100.0, 1.0, 350.0  # L/min, L, mol/L, K
    k0, activation, heat, rho_cp = 7.2e10, 8750.0, -5.0e4, 239.0  # 1/min, K (E/R), J/mol, J/(L K)
    ua_per_flow, coolant_temp = 5.0e3, 300.0  # J/(min K) per L/min of coolant, K

    def __init__(self, minutes_per_tick: float = 0.02) -> None:
        self.temperature = 350.0
        self.concentration = 0.5
        self.setpoint = 350.0
        self.coolant_flow = 10.0
        self.running = True
        self.minutes_per_tick = minutes_per_tick
        self.fouling = 1.0  # share of the jacket's clean heat transfer

    def step(self) -> None:
        steps = 10
        dt = self.minutes_per_tick / steps
        for _ in range(steps):
            self.coolant_flow = min(40.0, max(0.0, 10.0 + 2.0 * (self.temperature - self.setpoint)))
            rate = self.k0 * math.exp(-self.activation / self.temperature) * self.concentration
            d_conc = self.q / self.volume * (self.feed_conc - self.concentration) - rate
            removal = self.ua_per_flow * self.fouling * self.coolant_flow * (self.temperature - self.coolant_temp)
            d_temp = (
                self.q / self.volume * (self.feed_temp - self.temperature)
                - self.heat * rate / self.rho_cp
                - removal / (self.volume * self.rho_cp)
            )
            self.concentration = min(self.feed_conc, max(0.0, self.concentration + d_conc * dt))
            self.temperature = min(500.0, max(250.0, self.temperature + d_temp * dt))


class Plant:
    def __init__(self, server: Server, ns: int) -> None:
        self.server = server
        self.ns = ns
        self.reactor = Reactor()
        self.quality = ua.StatusCodes.Good
        self.nodes: dict[str, Node] = {}

    def node_id(self, name: str) -> ua.NodeId:
        return _node(f"Plant.Reactor.{name}", self.ns)

    async def build(self) -> None:
        ns = self.ns
        plant = await self.server.nodes.objects.add_object(_node("Plant", ns), ua.QualifiedName("Plant", ns))
        reactor = await plant.add_object(_node("Plant.Reactor", ns), ua.QualifiedName("Reactor", ns))
        r = self.reactor
        initial: dict[str, tuple[Any, ua.VariantType]] = {
            "Temperature": (r.temperature, ua.VariantType.Double),
            "Concentration": (r.concentration, ua.VariantType.Double),
            "CoolantFlow": (r.coolant_flow, ua.VariantType.Double),
            "Running": (r.running, ua.VariantType.Boolean),
            "Mode": ("auto", ua.VariantType.String),
            "Setpoint": (r.setpoint, ua.VariantType.Double),
        }
        for name, (value, variant) in initial.items():
            self.nodes[name] = await reactor.add_variable(
                self.node_id(name), ua.QualifiedName(name, ns), value, variant
            )
        await self.nodes["Setpoint"].set_writable()
        await reactor.add_method(
            self.node_id("SetSetpoint"),
            ua.QualifiedName("SetSetpoint", ns),
            uamethod(self.set_setpoint),
            [ua.VariantType.Double],
            [ua.VariantType.Boolean],
        )
        await reactor.add_method(
            self.node_id("InjectFault"),
            ua.QualifiedName("InjectFault", ns),
            uamethod(self.inject_fault),
            [ua.VariantType.String],
            [ua.VariantType.Boolean],
        )
        await reactor.add_method(
            self.node_id("SetQuality"),
            ua.QualifiedName("SetQuality", ns),
            uamethod(self.set_quality),
            [ua.VariantType.String],
            [ua.VariantType.Boolean],
        )

    def inject_fault(self, parent: ua.NodeId, kind: str) -> bool:
        share = FAULTS.get(kind)
        if share is None:
            return False
        self.reactor.fouling = share
        return True

    async def set_setpoint(self, parent: ua.NodeId, value: float) -> bool:
        if not 300.0 <= value <= 400.0:
            return False
        await self._publish("Setpoint", float(value), ua.VariantType.Double, datetime.now(UTC))
        return True

    def set_quality(self, parent: ua.NodeId, quality: str) -> bool:
        code = QUALITIES.get(quality)
        if code is None:
            return False
        self.quality = code
        return True

    async def _publish(
        self, name: str, value: Any, variant: ua.VariantType, ts: datetime, status: int = ua.StatusCodes.Good
    ) -> None:
        stamp = cast(ua.DateTime, ts)  # asyncua types timestamps as its own datetime subtype
        dv = ua.DataValue(ua.Variant(value, variant), ua.StatusCode(ua.UInt32(status)), SourceTimestamp=stamp,
                          ServerTimestamp=stamp)  # fmt: skip
        await self.server.write_attribute_value(self.node_id(name), dv)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # A client's write lands in the address space; the simulation follows it.
            self.reactor.setpoint = float(await self.nodes["Setpoint"].read_value())
            self.reactor.step()
            r = self.reactor
            now = datetime.now(UTC)
            tick = datetime.fromtimestamp(math.floor(now.timestamp() / TICK_S) * TICK_S, UTC)
            noise = random.gauss(0.0, 0.05)
            await self._publish("Temperature", r.temperature + noise, ua.VariantType.Double, tick, self.quality)
            await self._publish("Concentration", r.concentration, ua.VariantType.Double, tick)
            await self._publish("CoolantFlow", r.coolant_flow, ua.VariantType.Double, tick)
            await self._publish("Running", r.running, ua.VariantType.Boolean, tick)
            delay = TICK_S - (loop.time() % TICK_S)
            await asyncio.sleep(delay if delay > 0.01 else delay + TICK_S)


def _stop_on_signals() -> asyncio.Event:
    """An event SIGTERM and SIGINT set: installed before the plant says ``ready``, so that a signal sent as soon
    as it is ready stops it cleanly rather than killing it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _until_told_to_stop(stop: asyncio.Event, with_parent: bool) -> None:
    """Until ``stop`` (a signal); ``with_parent``: or until stdin ends, whose other end the process that started
    the plant holds (``PlantProcess``), so that a plant whose parent died does not run on alone."""
    loop = asyncio.get_running_loop()
    if not with_parent:
        await stop.wait()
        return
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ended = asyncio.ensure_future(_read_to_end(reader))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
    for task in (ended, stopped):
        task.cancel()


async def _read_to_end(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


async def serve(port: int, with_parent: bool = False) -> None:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/futago/plant")
    server.set_server_name("futago test plant")
    ns = await server.register_namespace(NAMESPACE)
    if ns != 2:
        raise RuntimeError(f"the plant namespace got index {ns}, but the tests name ns=2")
    plant = Plant(server, ns)
    await plant.build()
    async with server:  # leaving it closes the server's sessions and socket
        stop = _stop_on_signals()
        print("ready", flush=True)
        running = asyncio.ensure_future(plant.run())
        told = asyncio.ensure_future(_until_told_to_stop(stop, with_parent))
        await asyncio.wait({running, told}, return_when=asyncio.FIRST_COMPLETED)
        for task in (told, running):  # the simulation ends before the server closes under it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # a crash of the simulation is raised here, as it was before


def main() -> None:
    parser = argparse.ArgumentParser(description="a simulated CSTR plant as an OPC UA server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--with-parent", action="store_true", help="also stop when stdin ends (the parent is gone)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    asyncio.run(serve(args.port, args.with_parent))


if __name__ == "__main__":
    main()
