"""Device authenticity through a real Mosquitto broker: signed messages are stored, unsigned, tampered or
wrongly keyed ones go to the dead letters with their reason, and the connector keeps running."""

from __future__ import annotations

import orjson
import pytest

from futago.app import App
from futago.core.errors import InvalidInput
from futago.core.secrets import MASK, Secret
from futago.ingest.connections import ConnectionManager, ConnectionSpec
from futago.ingest.signing import signature
from tests.conftest import Broker
from tests.ingest.test_mqtt import T0_MS, manager, publish, river, river_connection, running, stored, wait_until

__all__ = ["manager"]  # the fixture, used by name

KEY_A1, KEY_B2 = b"a1-secret-key", b"b2-secret-key"


def signed(station: str, level: float, key: bytes, tamper: bool = False) -> tuple[str, bytes]:
    document = {"reading": {"level": level, "time": T0_MS + int(level * 10)}}
    document["sig"] = signature(key, document)
    if tamper:
        document["reading"]["level"] = level + 5  # changed after signing
    return f"city/river/{station}/level", orjson.dumps(document)


def test_only_correctly_signed_messages_are_stored(
    app: App, broker: Broker, manager: ConnectionManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUTAGO_TEST_KEY_B2", KEY_B2.decode())
    river(app, "a1", "b2", "c3")
    connection = river_connection(broker)
    connection["signing"] = {"keys": {"river-a1": KEY_A1.decode(), "river-b2": "env:FUTAGO_TEST_KEY_B2"}}
    manager.put("river", connection)
    wait_until(lambda: running(manager, "river"), what="the connector to connect")
    unsigned = ("city/river/a1/level", orjson.dumps({"reading": {"level": 9.9, "time": T0_MS + 99}}))
    publish(broker, [
        signed("a1", 0.1, KEY_A1),
        signed("a1", 0.2, KEY_A1, tamper=True),
        unsigned,
        signed("b2", 0.3, KEY_B2),
        signed("b2", 0.4, KEY_A1),  # a1's key used for b2
        signed("c3", 0.5, KEY_A1),  # c3 has no key on this connection
        signed("a1", 0.6, KEY_A1),
    ])  # fmt: skip
    wait_until(lambda: len(app.store.list_dead_letters("river")) == 4, what="4 dead letters")
    wait_until(lambda: stored(app, "river-a1") == 2 and stored(app, "river-b2") == 1, what="3 readings")
    assert app.telemetry.history("river-a1", "waterLevel").columns["value"].tolist() == [0.1, 0.6]
    assert stored(app, "river-c3") == 0
    reasons = sorted(letter.reason for letter in app.store.list_dead_letters("river"))
    assert sum("does not verify" in r for r in reasons) == 2 and any("not signed" in r for r in reasons)
    assert any("'river-c3' has no signing key" in r for r in reasons)
    shown = manager.describe("river")["signing"]["keys"]
    assert shown == {"river-a1": MASK, "river-b2": "env:FUTAGO_TEST_KEY_B2"}  # keys are never shown
    assert running(manager, "river")


def test_a_bad_signing_configuration_names_its_field() -> None:
    base = {"type": "replay", "options": {}, "mappings": [{"source": "x", "twin": "t", "telemetry": "v"}]}
    with pytest.raises(InvalidInput) as caught:
        ConnectionSpec.from_config("c", {**base, "signing": {"keys": {}}}, ["replay"])
    assert caught.value.problems[0].pointer == "/signing/keys"
    with pytest.raises(InvalidInput) as caught:
        ConnectionSpec.from_config("c", {**base, "signing": {"keys": {"t": "env:FUTAGO_NO_SUCH_VARIABLE"}}}, ["replay"])
    assert caught.value.problems[0].pointer == "/signing/keys/t"


def test_a_signature_with_odd_characters_is_a_dead_letter_not_a_crash(app: App) -> None:
    from futago.ingest.mapping import Mapper, RawMessage
    from futago.ingest.signing import Signing

    river(app, "a1")
    mapper = Mapper.from_config(river_connection(_NoBroker())["mappings"])  # type: ignore[arg-type]
    message = RawMessage("city/river/a1/level", orjson.dumps({"reading": {"level": 1.0, "time": T0_MS}, "sig": "é"}), 0)
    result = app.ingest.ingest("odd", mapper, [message], signing=Signing({"river-a1": Secret(KEY_A1)}))
    assert result.stored == 0 and "does not verify" in result.dead[0].reason


class _NoBroker:
    host, port = "127.0.0.1", 1
