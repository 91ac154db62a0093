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
        # A session of its own: a signal to the caller's process group (Ctrl-C, systemd or docker stopping the
        # demo) does not end the plant before the caller has closed its OPC UA session; the caller ends it
        # (kill). Its stdin is a pipe from the caller: when the caller is gone, however, the plant ends too.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "futago.scenarios.plant_server", "--port", str(self.port), "--with-parent"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
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
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()
            self.process = None
