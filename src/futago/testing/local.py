"""Starting and stopping the local servers of the scenarios, tests and benches (Mosquitto, NATS, PostgreSQL)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def futago_command() -> list[str]:
    """The `futago` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("futago")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from futago.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(
    process: subprocess.Popen[bytes], host: str, port: int, what: str, timeout_s: float, log: Callable[[], str]
) -> None:
    """Wait until ``process`` accepts TCP connections; raise with its error output if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{what} exited at start: {error or log()}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM, timeout_s: float = 10.0) -> None:
    """Ask a server to stop (``how``), and kill it if it has not within ``timeout_s``."""
    process.send_signal(how)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
