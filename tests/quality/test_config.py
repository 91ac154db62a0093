"""QcConfig: ioos_qc's names in, every mistake reported with a pointer to the key to fix."""

from __future__ import annotations

from typing import Any

import pytest

from futago.core.errors import InvalidInput
from futago.quality import QcConfig


def pointers(raw: Any) -> list[str]:
    with pytest.raises(InvalidInput) as err:
        QcConfig.from_dict(raw, id="dtmi:demo:Pump;1")
    assert all(p.id == "dtmi:demo:Pump;1" for p in err.value.problems)
    return [p.pointer for p in err.value.problems]


def test_a_full_configuration_round_trips() -> None:
    raw = {
        "gross_range": {"fail_span": [10, 0], "suspect_span": [0.5, 8]},
        "spike": {"suspect_threshold": 1, "fail_threshold": 2, "method": "differential"},
        "rate_of_change": {"threshold": 0.5, "fail_threshold": 2},
        "flat_line": {"suspect_threshold": "5m", "fail_threshold": 3600, "tolerance": 0.01},
        "timing": {"expected_interval": "PT1M", "grace": 5},
        "time_sanity": {"future_tolerance": 30, "max_age": "1d"},
    }
    config = QcConfig.from_dict(raw)
    assert config.gross_range is not None and config.gross_range.fail_span == (0.0, 10.0)
    assert config.flat_line is not None and config.flat_line.suspect_threshold == 300
    assert config.timing is not None and config.timing.expected_interval == 60
    assert QcConfig.from_dict(config.to_dict()) == config


def test_ioos_qc_section_names_are_accepted() -> None:
    config = QcConfig.from_dict({"gross_range_test": {"fail_span": [0, 1]}, "spike_test": {"fail_threshold": 3}})
    assert config.gross_range is not None and config.spike is not None


def test_problems_point_at_the_bad_key() -> None:
    assert pointers({"spike": {"suspect_threshold": 5, "fail_threshold": 2}}) == ["/spike/suspect_threshold"]
    assert pointers({"spike": {"suspect_threshold": -1}}) == ["/spike/suspect_threshold"]
    assert pointers({"spike": {"suspect_threshold": 1, "method": "median"}}) == ["/spike/method"]
    assert pointers({"gross_range": {"fail_span": [0, 10], "suspect_span": [-1, 5]}}) == ["/gross_range/suspect_span"]
    assert pointers({"gross_range": {"fail_span": [0, "x"]}}) == ["/gross_range/fail_span"]
    assert pointers({"gross_range": {}}) == ["/gross_range/fail_span"]
    assert pointers({"rate_of_change": {"threshold": True}}) == ["/rate_of_change/threshold"]
    assert pointers({"flat_line": {"suspect_threshold": "soon", "fail_threshold": 5}}) == [
        "/flat_line/suspect_threshold"
    ]
    assert pointers({"timing": {"expected_interval": 0}}) == ["/timing/expected_interval"]
    assert pointers({"despike": {}}) == ["/despike"]
    assert pointers({"spike": {"fail_threshold": 1, "fail": 2}}) == ["/spike/fail"]
    assert pointers({"spike": {}}) == ["/spike"]
    assert pointers([1, 2]) == [""]


def test_every_problem_is_reported_at_once() -> None:
    found = pointers({"spike": {"suspect_threshold": "a"}, "rate_of_change": {}, "gross_range": {"fail_span": 3}})
    assert found == ["/spike/suspect_threshold", "/rate_of_change/threshold", "/gross_range/fail_span"]
