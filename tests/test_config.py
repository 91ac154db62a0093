"""Settings precedence: defaults < TOML < environment < flags; unsafe binds refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from futago.config import Settings, load_settings
from futago.core.errors import InvalidInput

TOKEN = "t" * 32  # beyond loopback the bootstrap token must not be guessable


def test_defaults_are_safe() -> None:
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1" and settings.port == 8000 and settings.api_token is None
    settings.check_safe_to_serve()


def test_toml_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "futago.toml"
    config.write_text(
        f'[store]\ndb = "plant.db"\n[server]\nport = 9000\nhost = "0.0.0.0"\napi_token = "{TOKEN}"\n'
        "[telemetry]\nretention_days = 30\n"
    )
    settings = load_settings(config, environ={"FUTAGO_PORT": "9100"})
    assert (settings.db, settings.port, settings.host, settings.retention_days) == (
        "plant.db",
        9100,
        "0.0.0.0",
        30.0,
    )
    settings.check_safe_to_serve()  # a token is set
    assert settings.with_overrides(port=9200, db=None).port == 9200
    assert load_settings(environ={"FUTAGO_CONFIG": str(config)}).db == "plant.db"


def test_public_bind_without_token_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Settings(host="0.0.0.0").check_safe_to_serve()
    assert err.value.problems[0].pointer == "/server/api_token"
    Settings(host="::1").check_safe_to_serve()
    Settings(host="localhost").check_safe_to_serve()


def test_bad_values_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="port"):
        load_settings(environ={"FUTAGO_PORT": "eighty"})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    with pytest.raises(InvalidInput, match=r"broken\.toml"):
        load_settings(broken, environ={})


def test_connections_come_from_toml(tmp_path: Path) -> None:
    config = tmp_path / "futago.toml"
    config.write_text(
        '[connections.river]\ntype = "mqtt"\noptions = { host = "127.0.0.1", port = 1883 }\n'
        'mappings = [{ source = "city/river/{station}/level", twin = "river-{station}",'
        ' telemetry = "waterLevel" }]\n'
    )
    settings = load_settings(config, environ={})
    assert settings.connections["river"]["options"] == {"host": "127.0.0.1", "port": 1883}
    assert settings.connections["river"]["mappings"][0]["twin"] == "river-{station}"
    config.write_text('connections = "mqtt"\n')
    with pytest.raises(InvalidInput, match="connections"):
        load_settings(config, environ={})
