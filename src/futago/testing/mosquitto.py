"""A local Mosquitto broker on a free port: the real MQTT peer of the scenarios (and of the MQTT tests).

Persistence is on, so a restarted broker still holds persistent sessions and the QoS 1 messages queued for
them. ``MOSQUITTO`` is None when the Debian package is not installed (``scripts/install-system-deps.sh``).
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
from pathlib import Path

from futago.testing.local import free_port, stop, wait_listening

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


class LocalBroker:
    """One mosquitto process bound to 127.0.0.1; ``stop``/``start`` keep its port, data and users."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        if MOSQUITTO is None:
            raise RuntimeError("mosquitto is not installed: run scripts/install-system-deps.sh")
        self.folder = folder
        self.port = free_port()
        self.host = "127.0.0.1"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "mosquitto.log"
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if users else 'true'}",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
            "max_inflight_messages 0",
            "max_queued_messages 0",
            f"user {getpass.getuser()}",
            f"log_dest file {self.log}",
        ]
        if users:
            passwords = folder / "passwords"
            passwords.touch()
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
            passwords.chmod(0o600)
            lines.append(f"password_file {passwords}")
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        assert MOSQUITTO is not None
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_listening(self.process, self.host, self.port, "mosquitto", 10, self.log.read_text)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): mosquitto writes its sessions and queues to disk."""
        if self.process is None:
            return
        stop(self.process)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
