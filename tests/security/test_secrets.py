"""Configured secrets (issue 15 item 5, and the store part of item 14): one ``Secret`` type, masked in every API
response, CLI line and log line, sealed with the key vault's key in the store, and the store file 0600."""

from __future__ import annotations

import logging
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build, data_root
from futago.cli.output import print_json as _print_json
from futago.config import Settings, load_settings
from futago.core.notifications import Subscriber
from futago.core.secrets import MASK, SEALED, Secret, conceal, masked, redact_url, seal, unseal
from futago.security.vault import KeyVault, StoreSecrets
from futago.store.sqlite import SQLiteStore
from tests.conftest import Broker, demo_models, free_port

MQTT_PASSWORD = "mqtt-pa55word-7c1e"
SIGNING_KEY = "signing-key-0d9a-0d9a"
SMTP_PASSWORD = "smtp-pa55word-44b2"
WEBHOOK_SECRET = "webhook-secret-9f3e-9f3e"
URL_TOKEN = "url-token-5a5a"
ALL = (MQTT_PASSWORD, SIGNING_KEY, SMTP_PASSWORD, WEBHOOK_SECRET, URL_TOKEN)


def mqtt_connection(port: int, password: str = MQTT_PASSWORD, **extra: Any) -> dict[str, Any]:
    return {
        "type": "mqtt",
        "options": {"host": "127.0.0.1", "port": port, "username": "futago", "password": password, **extra},
        "mappings": [{"source": "city/river/{station}/level", "twin": "river-{station}", "telemetry": "waterLevel"}],
        "signing": {"keys": {"river-a1": SIGNING_KEY, "river-b2": "env:FUTAGO_TEST_KEY_B2"}},
        "autostart": False,
    }


SMTP = {"type": "email", "host": "smtp.example.jp", "port": 587, "sender": "alerts@city.jp", "username": "alerts",
        "password": SMTP_PASSWORD}  # fmt: skip
SUBSCRIBER = {
    "language": "en",
    "rules": ["*"],
    "channels": [
        {"type": "webhook", "url": f"https://hooks.example.jp/in?token={URL_TOKEN}", "secret": WEBHOOK_SECRET},
        {"type": "email", "to": "resident@example.jp", "via": "smtp"},
    ],
}


def open_app(db: Path) -> App:
    app = build(Settings(db=str(db), data_root=str(db.parent)))
    if not app.models.models.interfaces:
        app.models.add(demo_models())
    app.connections.load({}, start=False)  # the stored connections, as a server knows them
    return app


@pytest.fixture(autouse=True)
def env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUTAGO_TEST_KEY_B2", "a key kept in the environment")


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


def store_every_kind(client: TestClient) -> None:
    """A connection, named SMTP settings and a webhook subscriber, each with its secrets, through the API."""
    assert client.put("/connections/river", json=mqtt_connection(free_port())).status_code == 200
    assert client.put("/notification-channels/smtp", json=SMTP).status_code in (200, 201)
    assert client.put("/subscribers/resident-1", json=SUBSCRIBER).status_code in (200, 201)


# -- the type -------------------------------------------------------------------------------------------


def test_a_secret_shows_only_its_mask() -> None:
    token = Secret("correct horse battery staple")
    assert str(token) == MASK and MASK in repr(token) and "horse" not in repr(token) + f"{token}{token!r}"
    assert token.reveal() == "correct horse battery staple" and len(token) == 28
    assert token == Secret("correct horse battery staple") and token != Secret("other")
    assert orjson.loads(orjson.dumps({"t": token}, default=lambda v: v.to_json())) == {"t": MASK}
    doc = conceal({"options": {"password": "p", "host": "h"}, "signing": {"keys": {"d": "k", "e": "env:K"}}})
    assert isinstance(doc["options"]["password"], Secret) and doc["options"]["host"] == "h"
    assert masked(doc) == {"options": {"password": MASK, "host": "h"}, "signing": {"keys": {"d": MASK, "e": "env:K"}}}
    assert (
        redact_url("https://u:pw@hook.example/p?token=abc&x=1")
        == f"https://u:{MASK}@hook.example/p?token={MASK}&x={MASK}"
    )


def test_the_api_token_is_a_secret_from_every_source(tmp_path: Path) -> None:
    settings = load_settings(environ={"FUTAGO_API_TOKEN": "t" * 40, "FUTAGO_DB": ":memory:"})
    assert isinstance(settings.api_token, Secret) and settings.api_token.reveal() == "t" * 40
    assert "t" * 40 not in repr(settings)
    assert isinstance(Settings(api_token="direct-token").api_token, Secret)  # type: ignore[arg-type]
    overridden = Settings().with_overrides(api_token="over-token", connections={"c": {"options": {"password": "pw"}}})
    assert "over-token" not in repr(overridden) and "'pw'" not in repr(overridden)


# -- masked wherever it is shown -------------------------------------------------------------------


def test_get_connections_never_shows_the_mqtt_password_or_a_signing_key(client: TestClient) -> None:
    """Item 5: a caller with READ on connections saw the MQTT password."""
    store_every_kind(client)
    listed, one = client.get("/connections"), client.get("/connections/river")
    assert listed.status_code == one.status_code == 200
    for text in (listed.text, one.text):
        assert MQTT_PASSWORD not in text and SIGNING_KEY not in text
    options = one.json()["options"]
    assert options["password"] == MASK and options["username"] == "futago"  # the user name may show
    assert one.json()["signing"]["keys"] == {"river-a1": MASK, "river-b2": "env:FUTAGO_TEST_KEY_B2"}


def test_notification_channels_and_subscribers_are_masked(client: TestClient) -> None:
    store_every_kind(client)
    for path in ("/notification-channels", "/notification-channels/smtp", "/subscribers", "/subscribers/resident-1"):
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        assert not [s for s in ALL if s in answer.text], path
    assert client.get("/notification-channels/smtp").json()["password"] == MASK
    webhook = client.get("/subscribers/resident-1").json()["channels"][0]
    assert webhook["secret"] == MASK and webhook["url"] == f"https://hooks.example.jp/in?token={MASK}"


def test_cli_output_and_log_lines_never_show_a_secret(
    app: App, client: TestClient, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store_every_kind(client)
    # What a command prints of the stored records, and what a log line says of the live objects.
    _print_json({"connections": app.store.list_connections(), "channels": app.store.list_notification_channels(),
                 "subscribers": [s.to_json() for s in app.store.list_subscribers()]})  # fmt: skip
    printed = capsys.readouterr().out
    assert MASK in printed and not [s for s in ALL if s in printed]
    spec = app.connections.spec("river")
    logging.getLogger("futago.test").info("spec %r options %s", spec, spec.options)
    logging.getLogger("futago.test").info("settings %r channels %s", app.settings, app.notifications.list_channels())
    logging.getLogger("futago.test").info("subscriber %r", app.notifications.subscribers())
    assert "spec ConnectionSpec(" in caplog.text and not [s for s in ALL if s in caplog.text]


# -- sealed in the store -----------------------------------------------------------------------------


def test_the_store_file_holds_no_secret_in_plain_text(tmp_path: Path) -> None:
    """Item 14: the store held MQTT/SMTP passwords and webhook secrets in plain text."""
    db = tmp_path / "futago.db"
    app = open_app(db)
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as client:
            store_every_kind(client)
            raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("futago.db") and
                           not p.name.endswith(".keys"))  # fmt: skip
            assert not [s for s in ALL if s.encode() in raw]
            assert raw.count(SEALED.encode()) >= 4  # mqtt password, signing key, smtp password, webhook secret
    finally:
        app.close()
    again = open_app(db)  # and they open again, with the vault's key, for the login and the HMAC
    try:
        assert again.connections.spec("river").options["password"].reveal() == MQTT_PASSWORD
        assert again.connections.spec("river").signing.keys["river-a1"].reveal() == SIGNING_KEY.encode()  # type: ignore[union-attr]
        assert again.notifications.named_settings("smtp")["password"].reveal() == SMTP_PASSWORD  # type: ignore[index]
        [subscriber] = again.notifications.subscribers()
        assert subscriber.channels[0]["secret"].reveal() == WEBHOOK_SECRET
    finally:
        again.close()


def test_a_store_without_the_vault_key_does_not_open_the_secrets(tmp_path: Path) -> None:
    box = StoreSecrets(KeyVault(None))
    sealed = seal({"options": {"password": "pw", "port": 1}}, box)
    assert sealed["options"]["password"].startswith(SEALED) and sealed["options"]["port"] == 1
    assert unseal(sealed, box)["options"]["password"].reveal() == "pw"
    other = unseal(sealed, StoreSecrets(KeyVault(None)))["options"]["password"]  # another vault's key
    assert other.reveal() == sealed["options"]["password"]  # stays sealed: no write can lose it
    assert seal({"options": {"password": other}}, box)["options"]["password"] == sealed["options"]["password"]


def test_an_old_plain_text_row_still_loads_and_is_sealed_on_its_next_write(tmp_path: Path) -> None:
    db = tmp_path / "futago.db"
    old = SQLiteStore(db)  # as a store was written before sealing: no box, plain text
    old.put_connection("river", mqtt_connection(free_port()))
    old.put_notification_channel("smtp", SMTP)
    old.close()
    app = open_app(db)
    try:
        assert app.connections.spec("river").options["password"].reveal() == MQTT_PASSWORD
        assert app.connections.describe("river")["options"]["password"] == MASK
        assert app.notifications.named_settings("smtp")["password"].reveal() == SMTP_PASSWORD  # type: ignore[index]
        app.connections.put("river", app.connections.spec("river").config)  # the next write
        app.notifications.put_channel("smtp", dict(app.notifications.named_settings("smtp") or {}))
        with sqlite3.connect(db) as raw:
            rows = raw.execute("SELECT spec FROM connections UNION ALL SELECT spec FROM notification_channels")
            specs = [row[0] for row in rows]
        assert len(specs) == 2 and not [s for s in ALL if any(s in spec for spec in specs)]
        assert all(SEALED in spec for spec in specs)
        assert app.connections.spec("river").options["password"].reveal() == MQTT_PASSWORD
    finally:
        app.close()


def test_a_sealed_password_still_logs_in_after_a_restart(tmp_path: Path) -> None:
    """The revealed secret is the one that works: stored sealed, opened at start, given to the broker."""
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = Broker(folder, users={"futago": MQTT_PASSWORD})
    broker.start()
    db = tmp_path / "futago.db"
    try:
        first = open_app(db)
        first.connections.put("river", mqtt_connection(broker.port), start=False)
        first.close()
        app = open_app(db)
        try:
            app.connections.start("river")  # with the password read from the store
            deadline = time.monotonic() + 10
            while app.connections.describe("river")["status"]["state"] != "running":
                assert time.monotonic() < deadline, app.connections.describe("river")["status"]
                time.sleep(0.05)
        finally:
            app.close()
    finally:
        broker.stop()


# -- the store file --------------------------------------------------------------------------------------


def test_the_store_file_and_its_companions_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "futago.db"
    app = open_app(db)
    try:
        app.twins.put("river-1", {"$metadata": {"$model": "dtmi:futago:demo:RiverStation;1"}})  # the -wal is used
        files = [p for p in tmp_path.iterdir() if p.name.startswith("futago.db")]
        assert {p.name for p in files} >= {"futago.db", "futago.db-wal", "futago.db-shm", "futago.db.keys"}
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files if not p.name.startswith(".")}
        assert modes == dict.fromkeys(modes, 0o600), modes
    finally:
        app.close()


def test_an_older_world_readable_store_is_narrowed_to_0600(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    SQLiteStore(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_postgresql_stores_the_secrets_sealed_too(postgres_url: str) -> None:
    import psycopg

    from futago.store.postgres import PostgresStore

    store = PostgresStore(postgres_url, StoreSecrets(KeyVault(None)))
    try:
        store.put_connection("river", conceal(mqtt_connection(1883)))
        store.put_notification_channel("smtp", SMTP)  # plain text in: sealed all the same
        store.put_subscriber(Subscriber.from_json({"id": "resident-1", **SUBSCRIBER}))
        with psycopg.connect(postgres_url) as conn:
            raw = " ".join(
                str(row[0])
                for table, column in (
                    ("connections", "spec"),
                    ("notification_channels", "spec"),
                    ("subscribers", "doc"),
                )
                for row in conn.execute(f"SELECT {column} FROM {table}")
            )
        assert SEALED in raw and not [s for s in ALL if s in raw]
        assert store.list_connections()["river"]["options"]["password"].reveal() == MQTT_PASSWORD
        assert store.list_notification_channels()["smtp"]["password"].reveal() == SMTP_PASSWORD
        assert store.list_subscribers()[0].channels[0]["secret"].reveal() == WEBHOOK_SECRET
    finally:
        store.close()


def test_secrets_of_any_text_compare_by_value() -> None:
    assert Secret("パスワード") == Secret("パスワード") and Secret("パスワード") != Secret("パスワート")
    assert Secret(b"\x00key") == Secret(b"\x00key") and Secret("k") != Secret(b"k")


# -- a mask sent back (issue 15 follow-up to item 5) -------------------------------------------------------


def test_what_a_get_shows_put_back_unchanged_keeps_every_secret(app: App, client: TestClient) -> None:
    """A client that GETs a document (its secrets masked) and PUTs it back must not store the mask as the password."""
    store_every_kind(client)
    for path in ("/connections/river", "/notification-channels/smtp", "/subscribers/resident-1"):
        shown = client.get(path).json()
        assert MASK in orjson.dumps(shown).decode()
        again = client.put(path, json=shown)
        assert again.status_code == 200, again.text
        live = ("status", "counters")  # a connection's state, not its settings
        assert {k: v for k, v in again.json().items() if k not in live} == {
            k: v for k, v in shown.items() if k not in live
        }
    # The secrets that log in, sign and verify are the originals: live, and as the store gives them back.
    spec = app.connections.spec("river")
    assert spec.options["password"].reveal() == MQTT_PASSWORD
    assert spec.signing.keys["river-a1"].reveal() == SIGNING_KEY.encode()  # type: ignore[union-attr]
    stored = app.store.list_connections()["river"]
    assert stored["options"]["password"].reveal() == MQTT_PASSWORD
    assert stored["signing"]["keys"] == {"river-a1": Secret(SIGNING_KEY), "river-b2": "env:FUTAGO_TEST_KEY_B2"}
    assert app.notifications.named_settings("smtp")["password"].reveal() == SMTP_PASSWORD  # type: ignore[index]
    assert app.store.list_notification_channels()["smtp"]["password"].reveal() == SMTP_PASSWORD
    for subscriber in (app.notifications.subscribers()[0].to_json(), app.store.list_subscribers()[0].to_json()):
        webhook = subscriber["channels"][0]
        assert webhook["secret"].reveal() == WEBHOOK_SECRET
        assert webhook["url"].reveal() == f"https://hooks.example.jp/in?token={URL_TOKEN}"


def test_a_new_value_beside_a_mask_replaces_only_its_own_secret(app: App, client: TestClient) -> None:
    store_every_kind(client)
    shown = client.get("/connections/river").json()
    shown["options"]["password"] = "a-new-password"  # the signing key stays masked: it is kept
    assert client.put("/connections/river", json=shown).status_code == 200
    spec = app.connections.spec("river")
    assert spec.options["password"].reveal() == "a-new-password"
    assert spec.signing.keys["river-a1"].reveal() == SIGNING_KEY.encode()  # type: ignore[union-attr]


def test_a_mask_where_no_secret_is_stored_is_refused_at_its_field(app: App, client: TestClient) -> None:
    store_every_kind(client)
    new = mqtt_connection(free_port(), password=MASK)
    refused = client.put("/connections/new-river", json=new)
    assert refused.status_code == 422 and "give the secret itself" in refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/options/password"]
    assert client.get("/connections/new-river").status_code == 404 and "new-river" not in app.store.list_connections()
    # A device that has no key yet, beside one whose masked key is kept; and a mask in place of another name's.
    shown = client.get("/connections/river").json()
    shown["signing"]["keys"]["river-c3"] = MASK
    refused = client.put("/connections/river", json=shown)
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/signing/keys/river-c3"
    assert client.put("/notification-channels/smtp2", json={**SMTP, "password": MASK}).status_code == 422
    subscriber = client.get("/subscribers/resident-1").json()
    subscriber["channels"][0]["name"] = "another-webhook"  # not the channel whose secret is stored
    refused = client.put("/subscribers/resident-1", json=subscriber)
    assert refused.status_code == 422
    assert {e["pointer"] for e in refused.json()["errors"]} == {"/channels/0/url", "/channels/0/secret"}
    assert app.connections.spec("river").options["password"].reveal() == MQTT_PASSWORD  # nothing changed


def test_an_opcua_key_password_is_a_secret_and_never_part_of_the_security_string(app: App, client: TestClient) -> None:
    """asyncua reads a locked key as ``key.pem::password``; in the security string it would be shown with it."""
    from futago.protocols.opcua.client import _with_key_password
    from futago.protocols.opcua.settings import OpcUaOptions

    root = Path(app.settings.data_root)
    for name in ("client.pem", "client.key"):
        (root / name).write_text("x")
    options = {"endpoint": "opc.tcp://127.0.0.1:4840", "nodes": [{"node": "ns=2;s=T"}]}
    config = {"type": "opcua", "mappings": [{"source": "ns=2;s=T", "twin": "river-1", "telemetry": "waterLevel"}],
              "autostart": False}  # fmt: skip
    inline = {**options, "security": f"Basic256Sha256,Sign,client.pem,client.key::{MQTT_PASSWORD}"}
    refused = client.put("/connections/plc", json={**config, "options": inline})
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/options/security"
    assert MQTT_PASSWORD not in refused.text
    apart = {**options, "security": "Basic256Sha256,Sign,client.pem,client.key", "key_password": MQTT_PASSWORD}
    assert client.put("/connections/plc", json={**config, "options": apart}).status_code in (200, 201)
    shown = client.get("/connections/plc")
    assert MQTT_PASSWORD not in shown.text and shown.json()["options"]["key_password"] == MASK
    parsed = OpcUaOptions.parse(conceal(apart), data_root(app.settings))
    # what asyncua is given when the session starts: the password back after '::'
    assert _with_key_password(parsed.security or "", parsed.key_password).endswith(f"client.key::{MQTT_PASSWORD}")


def test_an_opcua_login_in_the_endpoint_url_is_refused(client: TestClient) -> None:
    """Found by probing the fixed server: asyncua logs in with user:password@ from the endpoint, which GET
    /connections, the log and the store then showed in plain text; the login belongs in username/password."""
    config = {"type": "opcua", "autostart": False,
              "options": {"endpoint": f"opc.tcp://plc:{MQTT_PASSWORD}@127.0.0.1:4840", "nodes": [{"node": "ns=2;s=T"}]},
              "mappings": [{"source": "ns=2;s=T", "twin": "river-1", "telemetry": "waterLevel"}]}  # fmt: skip
    refused = client.put("/connections/plc", json=config)
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/options/endpoint"
    assert MQTT_PASSWORD not in refused.text and client.get("/connections/plc").status_code == 404
