"""A local NATS server with JetStream on a free port: the ingestion log of the tests, the scale bench and the
scale-out example. ``NATS_SERVER`` is None where the Debian package is not installed
(``scripts/install-system-deps.sh``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from futago.testing.local import free_port, stop, wait_listening

NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
)


class LocalNats:
    """One nats-server process bound to 127.0.0.1 with JetStream storing into a folder of its own."""

    def __init__(self, keep: bool = False) -> None:
        if NATS_SERVER is None:
            raise RuntimeError("nats-server is not installed: run scripts/install-system-deps.sh")
        self.folder = Path(tempfile.mkdtemp(prefix="futago-nats-"))
        self.keep = keep
        self.host = "127.0.0.1"
        self.port = free_port()
        self.url = f"nats://{self.host}:{self.port}"
        self.log = self.folder / "nats.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert NATS_SERVER is not None
        args = [NATS_SERVER, "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.folder / "js"),
                "-l", str(self.log)]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening(self.process, self.host, self.port, "nats-server", 15, lambda: "")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalNats:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
