"""The protocols folder: one options parser per protocol, and one module that builds each protocol's client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from futago.core.errors import InvalidInput
from futago.core.paths import DataRoot
from futago.protocols.mqtt.settings import MqttBroker, MqttOptions
from futago.protocols.opcua.transport import OPCUA_VARIANT_TYPES

SRC = Path(__file__).resolve().parents[2] / "src" / "futago"


def _modules_matching(pattern: str) -> list[str]:
    """Modules of src/futago, outside the simulated field devices of scenarios/ and testing/, matching."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("scenarios/", "testing/")):
            continue
        if re.search(pattern, path.read_text()):
            found.append(relative)
    return found


def test_one_module_builds_the_paho_client_and_one_the_asyncua_client() -> None:
    assert _modules_matching(r"mqtt\.Client\(") == ["protocols/mqtt/client.py"]
    imports_it = set(_modules_matching(r"from asyncua import [^\n]*\bClient\b"))
    asyncua_client = imports_it & set(_modules_matching(r"Client\("))
    assert asyncua_client == {"protocols/opcua/client.py"}


def test_protocol_libraries_are_imported_only_in_protocols() -> None:
    libraries = r"(?m)^\s*(import|from) (paho|asyncua|nats|smtplib|http\.client)\b"
    assert all(module.startswith("protocols/") for module in _modules_matching(libraries))


def test_a_tls_broker_defaults_to_8883_and_keeps_its_client_certificate(tmp_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("x")
    tls = {"ca": "ca.pem", "cert": "client.pem", "key": "client.key"}
    broker = MqttBroker.parse({"host": "h", "tls": tls}, "futago-notify", DataRoot(tmp_path), "", host_required=True)
    assert broker.port == 8883 and broker.tls is not None
    assert broker.tls.cert == str(tmp_path.resolve() / "client.pem")
    assert MqttBroker.parse({"host": "h"}, "futago-notify").port == 1883
    assert MqttOptions.parse_connection("c", {"port": 1884, "tls": True}).port == 1884


def test_a_notification_broker_names_its_host_and_confines_its_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        MqttBroker.parse({"tls": {"cert": "/etc/passwd"}}, "n", DataRoot(tmp_path), "/channels/0", host_required=True)
    pointers = {p.pointer for p in caught.value.problems}
    assert pointers == {"/channels/0/host", "/channels/0/tls/cert"}


def test_the_opcua_variant_types_a_binding_may_name_are_asyncuas() -> None:
    from asyncua import ua

    assert set(ua.VariantType.__members__) == OPCUA_VARIANT_TYPES
