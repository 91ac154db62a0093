"""The [ngsild] section of the configuration: the @context cache's bounds and offline copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from futago.app import _ngsild_contexts
from futago.config import load_settings
from futago.core.errors import InvalidInput


def test_ngsild_section_sets_the_context_cache(tmp_path: Path) -> None:
    (tmp_path / "contexts").mkdir()
    config = tmp_path / "futago.toml"
    config.write_text(
        "[ngsild]\ncontext_cache_entries = 32\ncontext_ttl_s = 600\ncontext_max_bytes = 200000\n"
        'context_timeout_s = 2.5\n[ngsild.offline_contexts]\n"https://smartdatamodels.org/context.jsonld" = '
        '"contexts/sdm.jsonld"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    contexts = _ngsild_contexts(settings)
    assert (contexts.cache_entries, contexts.ttl_s, contexts.max_bytes, contexts.timeout_s) == (32, 600, 200000, 2.5)
    assert contexts.offline == {"https://smartdatamodels.org/context.jsonld": str(tmp_path / "contexts/sdm.jsonld")}


@pytest.mark.parametrize(
    ("line", "pointer"),
    [
        ("context_cache_entries = 0", "/ngsild/context_cache_entries"),
        ("context_ttl_s = -1", "/ngsild/context_ttl_s"),
        ('context_max_bytes = "1MB"', "/ngsild/context_max_bytes"),
        ("context_cache_entries = 2.5", "/ngsild/context_cache_entries"),
        ("offline_contexts = 3", "/ngsild/offline_contexts"),
        ("cache = 10", "/ngsild/cache"),
    ],
)
def test_bad_ngsild_settings_are_named(tmp_path: Path, line: str, pointer: str) -> None:
    config = tmp_path / "futago.toml"
    config.write_text(f"[ngsild]\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_settings(config, environ={})
    assert [p.pointer for p in caught.value.problems] == [pointer]
