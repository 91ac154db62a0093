"""The simulated OPC UA plant (``plant_server.py``) as a subprocess that can be killed and started on its port."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time

from futago.testing.local import free_port


class PlantProcess:
    """The simulated plant as a subprocess that can be killed and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/futago/plant"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "futago.scenarios.plant_server", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    line = self.process.stdout.readline()
                    if line.strip() == b"ready":
                        return
                    if not line:  # the process ended
                        break
        self.kill()
        raise RuntimeError(f"the plant did not print 'ready' within {timeout} s (port {self.port})")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
