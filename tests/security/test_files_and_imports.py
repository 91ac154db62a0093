"""Files and imports (issue 15 items 1, 9 and 14's duplicate zip members).

Every path a caller names resolves inside the data root, symlinks included, and a refusal never tells
whether a file outside exists; CityGML is refused per feature past an element count or depth, before a
tree is built; a zip with duplicate members is refused by name.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago import samples
from futago.api.server import create_api
from futago.app import App, artifacts_dir, build, data_root
from futago.city.citygml import CityGmlError, codelists, iter_features, iter_sources, reader
from futago.config import Settings, load_settings
from futago.core.errors import InvalidInput
from futago.core.paths import DataRoot
from futago.services.city_import import CityImporter
from tests.city.citygml_fixtures import BLDG, HEAD, TAIL, plateau_dir

M = "dtmi:futago:demo:"
MAPPING = [{"source": "{column}", "twin": "nobody", "telemetry": "nothing", "format": "number"}]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A data root holding the store (and so its keys), with a secret beside it, outside."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.ndjson").write_text('{"password": "hunter2"}\n')
    (root / "levels.csv").write_text("ts,level\n2026-01-01T00:00:00Z,1.5\n2026-01-01T00:01:00Z,oops\n")
    return {"root": root, "outside": outside}


@pytest.fixture
def server(files: dict[str, Path]) -> Iterator[tuple[App, TestClient]]:
    app = build(Settings(db=str(files["root"] / "futago.db"), data_root=str(files["root"])))
    app.models.add(samples.demo_models())
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as client:
            yield app, client
    finally:
        app.close()


def _replay(path: str) -> dict[str, Any]:
    return {"type": "replay", "options": {"path": path, "format": "ndjson"}, "mappings": MAPPING}


def _refusal(client: TestClient, path: str) -> str:
    """PUT a replay of ``path``: it must be a 422 at /options/path; returns its message with the name cut out."""
    response = client.put("/connections/leak", json=_replay(path))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["pointer"] == "/options/path"
    return str(error["detail"]).replace(repr(path), "<path>")


# Item 1: a replay connection whose path lies outside the data root is refused with 422 and stores nothing.


def test_a_replay_outside_the_data_root_is_refused_and_stores_nothing(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    app, client = server
    secret = files["outside"] / "secret.ndjson"
    outside = [str(secret), "/etc/passwd", "../outside/secret.ndjson", "/nonexistent/secret.ndjson"]
    messages = {_refusal(client, path) for path in outside}
    # the same sentence for an existing and a missing file: no answer tells whether a path outside exists
    assert len(messages) <= 2 and not any(str(files["outside"]) in m or "exist" in m for m in messages)
    assert _refusal(client, str(secret)) == _refusal(client, str(files["outside"] / "missing.ndjson"))
    time.sleep(0.2)  # a replay that had started would have dead-lettered the secret by now
    assert client.get("/connections").json()["value"] == []
    assert client.get("/connections/leak").status_code == 404
    assert client.get("/dead-letters").json()["value"] == []
    assert app.store.list_connections() == {}


def test_a_name_too_long_for_the_file_system_is_a_422_not_a_500(server: tuple[App, TestClient]) -> None:
    """Found by probing the fixed server: the existence check raised OSError (ENAMETOOLONG) as a 500."""
    _, client = server
    for name in ("a" * 300, "b/" * 2100):
        assert "data root" in _refusal(client, name)
    tls = {"type": "mqtt", "options": {"host": "127.0.0.1", "tls": {"ca": "c" * 300}}, "mappings": MAPPING}
    answer = client.put("/connections/tls", json=tls)
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"] == "/options/tls/ca"


def test_a_symlink_that_leaves_the_root_is_refused_like_any_path_outside(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    _, client = server
    (files["root"] / "link.ndjson").symlink_to(files["outside"] / "secret.ndjson")
    (files["root"] / "dangling.ndjson").symlink_to(files["outside"] / "missing.ndjson")
    (files["root"] / "dir").symlink_to(files["outside"], target_is_directory=True)
    refused = {_refusal(client, p) for p in ("link.ndjson", "dangling.ndjson", "dir/secret.ndjson", "dir/none")}
    assert refused == {"<path> is not a file inside the data root"}


def test_the_store_and_its_keys_inside_the_root_are_never_replayed(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    app, client = server
    app.audit.record("test", "touch", "twins/x")  # the audit signing key and the store's files exist now
    names = [p.name for p in files["root"].iterdir() if p.name.startswith("futago.db")]
    assert "futago.db" in names and any(n.endswith(".pem") for n in names)
    (files["root"] / "innocent.ndjson").symlink_to(files["root"] / "futago.db")
    for name in [*names, "innocent.ndjson", str(files["root"] / "futago.db")]:
        assert _refusal(client, name) == "<path> is not a file inside the data root"


def test_a_relative_path_resolves_in_the_data_root_and_a_missing_one_there_is_named(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    app, client = server
    assert _refusal(client, "nope.csv") == "no file named <path> in the data root"
    client.put("/twins/river-1", json={"$metadata": {"$model": M + "RiverStation;1"}})
    mapping = [{"source": "level", "twin": "river-1", "telemetry": "waterLevel", "format": "number"}]
    response = client.put("/connections/levels", json={"type": "replay", "options": {"path": "levels.csv"},
                                                       "mappings": mapping})  # fmt: skip
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while client.get("/connections/levels").json()["status"]["state"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert app.telemetry.history("river-1", "waterLevel").columns["value"].tolist() == [1.5]


def test_data_root_resolution_rules(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "root", private=(tmp_path / "root" / "store.db",))
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "sub" / "a.csv").write_text("x")
    assert root.resolve("sub/a.csv", "/p") == (tmp_path / "root" / "sub" / "a.csv").resolve()
    assert root.resolve(str(tmp_path / "root" / "sub" / "a.csv"), "/p").name == "a.csv"  # absolute, inside
    for bad in ("", "sub/../sub/a.csv", "a\0b", 42, None, ".", str(tmp_path / "root"), "store.db-wal"):
        with pytest.raises(InvalidInput) as caught:
            root.resolve(bad, "/options/path")
        assert caught.value.problems[0].pointer == "/options/path"
    assert root.resolve("new/out.json", "/p", must_exist=False) == (tmp_path / "root" / "new" / "out.json").resolve()


def test_the_data_root_is_a_setting_and_holds_the_artifacts_by_default(tmp_path: Path) -> None:
    config = tmp_path / "futago.toml"
    config.write_text('[store]\ndata_root = "/srv/futago"\n')
    assert load_settings(config, environ={}).data_root == "/srv/futago"
    assert load_settings(None, environ={"FUTAGO_DATA_ROOT": "/data"}).data_root == "/data"
    assert artifacts_dir(Settings(data_root="/data")) == Path("/data/artifacts")
    assert artifacts_dir(Settings(data_root="/data", artifacts_dir="/models")) == Path("/models")
    server = data_root(Settings(db="postgresql://db/futago"))  # a server store keeps its keys in futago-data/
    assert Path("futago-data/personal.keys").absolute() in server.private
    assert Path("futago-data/audit-key.pem").absolute() in server.private


def test_an_artifact_symlinked_out_of_its_folder_is_refused(app: App, tmp_path: Path) -> None:
    folder, outside = tmp_path / "artifacts", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    (outside / "evil.pkl").write_bytes(b"not read")
    (folder / "model.pkl").symlink_to(outside / "evil.pkl")
    app.behaviours.artifacts_dir = folder
    with pytest.raises(InvalidInput) as caught:
        app.behaviours.put("rul", {"model": "rul_pipeline", "artifact": "model.pkl", "twins": ["engine-1"]})
    assert caught.value.problems[0].pointer == "/artifact"
    assert "not a file inside the artifacts folder" in caught.value.problems[0].message


# Item 9: CityGML element bombs are refused per city object, while streaming, before the tree is built.


def _bomb(path: Path, elements: int, gml_id: str = "bomb-1") -> Path:
    """One building of ``elements`` tiny elements: 4 bytes each on disk, a few hundred in memory once built."""
    head = HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0")
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{head}<core:cityObjectMember><bldg:Building gml:id="{gml_id}"><gen:a>')
        for _ in range(elements // 100_000):
            out.write("<b/>" * 100_000)
        out.write("</gen:a></bldg:Building></core:cityObjectMember>\n" + TAIL)
    return path


def test_an_element_bomb_is_refused_by_name_before_its_tree_is_built(tmp_path: Path) -> None:
    """2,000,000 elements in one building: refused at the (here lowered) limit, memory bounded by the limit."""
    path = _bomb(tmp_path / "bomb.gml", 2_000_000)
    script = textwrap.dedent(
        f"""
        import resource
        from futago.city.citygml import CityGmlError, iter_features, reader
        reader.MAX_FEATURE_ELEMENTS = 20_000
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            print("read", sum(1 for _ in iter_features({str(path)!r})))
        except CityGmlError as exc:
            print("refused", exc.line, exc.message)
        print("growth_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    first, growth = out.strip().splitlines()
    assert first.startswith("refused 4 city object 'bomb-1' has more than 20,000 elements"), out
    assert int(growth.split()[1]) < 60, out  # the whole tree would be ~250 MB


def test_deep_nesting_is_refused_naming_the_line(tmp_path: Path) -> None:
    head = HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0")
    deep = "<gen:a>" * 150 + "</gen:a>" * 150
    path = tmp_path / "deep.gml"
    path.write_text(f'{head}<core:cityObjectMember><bldg:Building gml:id="deep">\n{deep}'
                    f"</bldg:Building></core:cityObjectMember>\n{TAIL}")  # fmt: skip
    with pytest.raises(CityGmlError) as caught:
        list(iter_features(path))
    assert caught.value.file == str(path) and caught.value.line == 4
    assert f"city object 'deep' has elements nested more than {reader.MAX_FEATURE_DEPTH} deep (line 5)" in str(
        caught.value
    )


def test_real_plateau_buildings_stay_well_inside_the_limits() -> None:
    features = list(iter_features(plateau_dir() / BLDG))
    assert len(features) >= 25 and reader.MAX_FEATURE_ELEMENTS >= 100_000 and reader.MAX_FEATURE_DEPTH >= 50


def test_a_zip_member_that_inflates_like_a_bomb_is_refused_unread(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("city/udx/bldg/53394611_bldg_6697_op.gml", b"<b/>" * 2_000_000)  # 8 MB from ~8 kB
    with pytest.raises(CityGmlError, match="refused as a zip bomb") as caught:
        list(iter_sources([archive]))
    assert caught.value.file.startswith(str(archive))


def test_a_codelist_bomb_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codelists, "MAX_CODELIST_ELEMENTS", 1_000)
    small = b'<gml:Dictionary xmlns:gml="http://www.opengis.net/gml">' + b"<x/>" * 2_000 + b"</gml:Dictionary>"
    with pytest.raises(ValueError, match="more than 1,000 elements"):
        codelists.parse_dictionary(io.BytesIO(small))
    resolver = codelists.CodelistResolver({"bomb.xml": lambda: io.BytesIO(small)})
    assert resolver.label("../../codelists/bomb.xml", "401") == "401"  # codes stay codes


# Item 14 (part): a zip with duplicate member names is refused by name, before anything is stored.


def test_a_zip_with_duplicate_members_is_refused_naming_the_member(app: App, tmp_path: Path) -> None:
    member = "city/udx/bldg/" + BLDG
    archive = tmp_path / "dup.zip"
    data = (plateau_dir() / BLDG).read_bytes()
    with warnings.catch_warnings(), zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate, and writes it
        zf.writestr(member, data)
        zf.writestr(member, data)
    with pytest.raises(CityGmlError) as caught:
        CityImporter(app.store, app.models, app.twins, app.bus).run([archive])
    assert caught.value.file == f"{archive}!{member}" and "more than one member of this name" in caught.value.message
    assert caught.value.status == 422
    first = re.search(rb'<bldg:Building gml:id="([^"]+)"', data)
    assert first is not None and app.store.get_twins([first.group(1).decode()]) == {}
    assert app.store.list_datasets() == []


# Item 1 (follow-up): TLS certificates and keys a caller names (MQTT connections and command transports, MQTT
# notification channels, OPC UA security) resolve in the data root like every other path.


def _pem_pair(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate and key for 127.0.0.1 it signed: ca.pem, server.pem, server.key in ``folder``."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "futago test CA")])

    def certificate(subject: str, public: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(ca_name if ca else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(certificate("", ca_key.public_key(), True).public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(certificate("127.0.0.1", key.public_key(), False).public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _mqtt(options: dict[str, Any]) -> dict[str, Any]:
    return {"type": "mqtt", "options": {"host": "127.0.0.1", **options}, "mappings": MAPPING}


def _problem(response: Any, pointer: str) -> str:
    """The one problem of a 422 at ``pointer``, its message with the file name cut out."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = [e for e in response.json()["errors"] if e["pointer"] == pointer]
    return re.sub(r"'[^']*'", "<path>", str(error["detail"]))


def _outside(files: dict[str, Path]) -> list[str]:
    """Files outside the data root, existing or not, named directly or through a symlink inside it."""
    (files["root"] / "link.pem").symlink_to("/etc/passwd")
    (files["root"] / "dangling.pem").symlink_to(files["outside"] / "missing.pem")
    named = [files["outside"] / "secret.ndjson", files["outside"] / "missing.pem", "/etc/passwd", "/etc/none.pem"]
    return [*map(str, named), "link.pem", "dangling.pem"]


@pytest.mark.parametrize("key", ["ca", "cert", "key"])
def test_mqtt_tls_files_outside_the_data_root_are_refused_alike(
    server: tuple[App, TestClient], files: dict[str, Path], key: str
) -> None:
    app, client = server
    others = {"cert": "x.pem", "key": "x.pem"} if key != "ca" else {}
    messages = set()
    for path in _outside(files):  # existing and missing files outside: one answer, nothing stored or started
        response = client.put("/connections/tls", json=_mqtt({"tls": {**others, key: path}}))
        messages.add(_problem(response, f"/options/tls/{key}"))
    assert messages == {"<path> is not a file inside the data root"}
    assert app.store.list_connections() == {} and client.get("/connections/tls").status_code == 404


def test_opcua_security_files_outside_the_data_root_are_refused_alike(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    app, client = server
    (files["root"] / "client.pem").write_text("not read")
    messages = set()
    for path in _outside(files):
        for security in (f"Basic256Sha256,SignAndEncrypt,{path},client.pem",
                         f"Basic256Sha256,SignAndEncrypt,client.pem,{path}",
                         f"Basic256Sha256,SignAndEncrypt,client.pem,client.pem,{path}"):  # fmt: skip
            config = {"type": "opcua", "options": {"endpoint": "opc.tcp://127.0.0.1:4840", "security": security,
                      "nodes": [{"node": "ns=2;s=T"}]}, "mappings": MAPPING}  # fmt: skip
            messages.add(_problem(client.put("/connections/plc", json=config), "/options/security"))
    assert messages == {"<path> is not a file inside the data root"}
    assert app.store.list_connections() == {}


def test_an_opcua_security_string_resolves_its_files_in_the_data_root(files: dict[str, Path]) -> None:
    from futago.protocols.opcua.settings import OpcUaOptions

    for name in ("client.pem", "client.key", "server.der"):
        (files["root"] / name).write_text("x")
    options = {"endpoint": "opc.tcp://h:4840", "nodes": [{"node": "ns=2;s=T"}],
               "security": "Basic256Sha256,Sign,client.pem,client.key,server.der"}  # fmt: skip
    root = files["root"].resolve()
    parsed = OpcUaOptions.parse(options, DataRoot(files["root"]))
    assert parsed.security == f"Basic256Sha256,Sign,{root}/client.pem,{root}/client.key,{root}/server.der"
    with pytest.raises(InvalidInput) as caught:  # built without a data root, no file may be named at all
        OpcUaOptions.parse(options)
    assert {p.pointer for p in caught.value.problems} == {"/options/security"}


def test_notification_channels_refuse_a_ca_outside_the_data_root_alike(
    server: tuple[App, TestClient], files: dict[str, Path]
) -> None:
    _, client = server
    named, entries = set(), set()
    for path in _outside(files):
        spec = {"type": "mqtt", "host": "127.0.0.1", "tls": {"ca": path}}
        named.add(_problem(client.put("/notification-channels/broker", json=spec), "/tls/ca"))
        subscriber = {"rules": ["*"], "channels": [{**spec, "topic": "residents/{subscriber}"}]}
        entries.add(_problem(client.put("/subscribers/sato", json=subscriber), "/channels/0/tls/ca"))
    assert named == entries == {"<path> is not a file inside the data root"}
    assert client.get("/notification-channels/broker").status_code == 404
    assert client.get("/subscribers/sato").status_code == 404


def test_a_ca_inside_the_data_root_secures_ingest_commands_and_notifications(
    server: tuple[App, TestClient], files: dict[str, Path], tmp_path: Path
) -> None:
    """A real Mosquitto with TLS only: what connects at all has read the CA from inside the data root."""
    from futago.act.notify.channel import Message
    from tests.conftest import Broker

    ca, cert, key = _pem_pair(files["root"] / "certs")
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker")
    broker.config.write_text(broker.config.read_text() + f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    broker.start()
    app, client = server
    try:
        tls = {"port": broker.port, "tls": {"ca": "certs/ca.pem"}}  # relative: in the data root
        assert client.put("/connections/secure", json=_mqtt(tls)).status_code == 200
        deadline = time.monotonic() + 10
        while client.get("/connections/secure").json()["status"]["state"] != "running":
            assert time.monotonic() < deadline, client.get("/connections/secure").json()["status"]
            time.sleep(0.05)
        requester = app.commands.transports.transports["mqtt"]._requester("secure")  # type: ignore[attr-defined]
        assert requester._connected.wait(10)  # the command client's own TLS session
        entry = {"type": "mqtt", "host": "127.0.0.1", "topic": "residents/sato", **tls}
        assert client.put("/notification-channels/broker", json={"type": "mqtt", "host": "127.0.0.1", **tls}).is_success
        assert client.put("/subscribers/sato", json={"rules": ["*"], "channels": [entry]}).is_success
        message = Message("d-1", "sato", "en", "subject", "text", {"id": "d-1"})
        outcome = app.notifications.channels["mqtt"].send(entry, message)
        assert outcome.ok, outcome.detail
    finally:
        app.connections.stop("secure", missing_ok=True)
        broker.stop()


# Item 2 (follow-up): the same gml:id in two files of one import: the later one is skipped and named, never a
# store error, never written over the first.


def _buildings(path: Path, heights: dict[str, float]) -> Path:
    head = HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0")
    members = "".join(
        f'<core:cityObjectMember><bldg:Building gml:id="{gid}">\n'
        f'<bldg:measuredHeight uom="m">{height}</bldg:measuredHeight></bldg:Building></core:cityObjectMember>\n'
        for gid, height in heights.items()
    )
    path.write_text(head + members + TAIL)
    return path


def test_a_gml_id_met_again_in_another_file_is_skipped_and_named(app: App, tmp_path: Path) -> None:
    first = _buildings(tmp_path / "53394611_bldg_6697_op.gml", {"b-1": 10.0, "b-2": 20.0})
    again = _buildings(tmp_path / "copy of 53394611.gml", {"b-2": 99.0, "b-3": 30.0, "b-1": 11.0})
    summary = CityImporter(app.store, app.models, app.twins, app.bus).run([first, again])  # one batch
    report = summary.to_json()
    assert report["buildings"] == 3 and report["measured_heights"] == 3 and report["height_sum"] == 60.0
    assert report["duplicates"] == {
        "skipped": 2,
        "first": [
            {"gml_id": "b-2", "at": f"{again}:4", "first_in": str(first)},
            {"gml_id": "b-1", "at": f"{again}:8", "first_in": str(first)},
        ],
    }
    twins = app.store.get_twins(["b-1", "b-2", "b-3"])
    assert {i: t.properties["measuredHeight"] for i, t in twins.items()} == {"b-1": 10.0, "b-2": 20.0, "b-3": 30.0}
    [dataset] = app.store.list_datasets()
    assert dataset.records["duplicatesSkipped"] == 2 and dataset.records["buildings"] == 3


def test_a_whole_file_imported_twice_under_two_names_counts_every_duplicate(app: App, tmp_path: Path) -> None:
    original = plateau_dir() / BLDG
    copy = tmp_path / "bldg-copy.gml"
    copy.write_bytes(original.read_bytes())
    report = CityImporter(app.store, app.models, app.twins, app.bus).run([original, copy]).to_json()
    assert report["buildings"] == 25 and report["duplicates"]["skipped"] == 25
    assert len(report["duplicates"]["first"]) == 20  # the rest are counted, not listed
    assert {d["first_in"] for d in report["duplicates"]["first"]} == {str(original)}
    assert all(d["at"].startswith(f"{copy}:") for d in report["duplicates"]["first"])


# Item 9 (follow-up): the element limit itself bounds one city object's memory (~60 MB at most), with room for
# the largest real one.


def test_the_default_element_limit_refuses_a_bomb_far_below_a_million(tmp_path: Path) -> None:
    """900,000 tiny elements in one building (3.6 MB): refused at the default limit, growth well under 100 MB."""
    path = _bomb(tmp_path / "bomb.gml", 900_000)
    script = textwrap.dedent(
        f"""
        import resource
        from futago.city.citygml import CityGmlError, iter_features
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            print("read", sum(1 for _ in iter_features({str(path)!r})))
        except CityGmlError as exc:
            print("refused", exc.message)
        print("growth_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    first, growth = out.strip().splitlines()
    assert first.startswith(f"refused city object 'bomb-1' has more than {reader.MAX_FEATURE_ELEMENTS:,}"), out
    assert int(growth.split()[1]) < 60, out
    assert 100_000 <= reader.MAX_FEATURE_ELEMENTS <= 250_000


def test_the_largest_real_city_object_is_well_inside_the_element_limit() -> None:
    """Kawasaki's city furniture (LOD3, 20,031 elements in one member) is the largest real one measured."""
    archive = plateau_dir().parent / "plateau-cities" / "kawasaki-shi.zip"
    if not archive.is_file():
        pytest.skip(f"{archive} not found")
    with zipfile.ZipFile(archive) as zf:
        furniture = io.BytesIO(zf.read("kawasaki-shi/udx/frn/53391597_frn_6697_op.gml"))
    list(iter_features(furniture, name="frn"))  # no CityGmlError: read whole (the importer skips furniture)
    assert reader.MAX_FEATURE_ELEMENTS >= 5 * 20_031
