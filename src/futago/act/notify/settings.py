"""The ``[notifications]`` settings, and the retry policy of deliveries (also per named channel settings)."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord
from futago.core.validation import Checker


@dataclass(frozen=True)
class RetryPolicy(JsonRecord):
    """``attempts`` in all; the pause after failed attempt n is ``base_s * factor**(n-1)``, at most ``max_s``,
    plus up to 10 % jitter (only ever added, so that many failing deliveries do not retry in lockstep)."""

    json_case = "as_declared"  # its JSON echoes the configuration's snake_case keys

    attempts: int = 5
    base_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0

    def delay(self, attempt: int) -> float:
        pause = min(self.max_s, self.base_s * self.factor ** (attempt - 1))
        return pause * (1.0 + 0.1 * random.random())

    @classmethod
    def parse(
        cls, value: Any, pointer: str, problems: list[Problem], default: RetryPolicy | None = None
    ) -> RetryPolicy:
        base = default or cls()
        if value is None:
            return base
        if not isinstance(value, dict):
            problems.append(Problem(pointer, "retry is an object: {attempts, base_s, factor, max_s}"))
            return base
        keys = ("attempts", "base_s", "factor", "max_s")
        check = Checker(pointer, problems)
        check.keys(value, keys, message=f"unknown key; use {', '.join(keys)}")
        attempts = check.integer(value, "attempts", low=1, high=20, default=base.attempts)
        base_s = check.number(value, "base_s", low=0.0, high=3600.0, above=True, default=base.base_s)
        # a factor of 1 (no growth) is allowed, though the sentence is the same as for the pauses
        factor = check.number(value, "factor", low=1.0, high=10.0, default=base.factor, message=_FACTOR)
        max_s = check.number(value, "max_s", low=0.0, high=86_400.0, above=True, default=base.max_s)
        return cls(attempts, base_s, factor, max_s)


_FACTOR = "factor is a number above 1 up to 10"
_SETTING_KEYS = {
    "depth_threshold_m", "retry", "workers", "webhook_timeout_s", "mqtt_timeout_s", "channels",
    "delivery_retention", "dead_letter_retention",
}  # fmt: skip
_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
DAY_S = 86_400.0


def parse_retention(value: Any, default_s: float | None, pointer: str, problems: list[Problem]) -> float | None:
    """A retention as seconds: ``"30d"``, ``"12h"``, ``"90m"``, ``"3600s"``, a number of days, or ``"forever"``
    (None: never pruned)."""
    said = 'a retention such as "30d", "12h" or "90m", a number of days, or "forever"'
    if value is None:
        return default_s
    if value == "forever":
        return None
    if isinstance(value, bool):
        problems.append(Problem(pointer, said))
        return default_s
    if isinstance(value, int | float):
        seconds = float(value) * DAY_S
    elif isinstance(value, str) and value[-1:] in _UNITS:
        try:
            seconds = float(value[:-1]) * _UNITS[value[-1]]
        except ValueError:
            problems.append(Problem(pointer, said))
            return default_s
    else:
        problems.append(Problem(pointer, said))
        return default_s
    if not 60.0 <= seconds <= 100 * 365 * DAY_S:  # a minute at least: a typo must not empty the log at once
        problems.append(Problem(pointer, f"{said}, from a minute to 100 years"))
        return default_s
    return seconds


@dataclass(frozen=True)
class NotificationSettings:
    """``[notifications]`` in futago.toml::

    [notifications]
    depth_threshold_m = 0.5                    # planned inundation depth that makes a home "affected"
    retry = { attempts = 5, base_s = 1.0, factor = 2.0, max_s = 60.0 }
    workers = { webhook = 8, mqtt = 2, email = 4, dashboard = 1 }   # threads per channel type
    webhook_timeout_s = 5.0
    delivery_retention = "30d"                 # the leader prunes sent and failed deliveries older than this
    dead_letter_retention = "90d"              # and dead letters that failed before this ("forever": kept)
    [notifications.channels.email]             # named channel settings (also PUT /notification-channels)
    type = "email"
    host = "smtp.city.example"
    port = 587
    starttls = true
    sender = "alerts@city.example"
    """

    depth_threshold_m: float = 0.5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Only the counts the configuration sets; a channel type it does not name gets the default its channel
    # declares (``Channel.workers``), so that a new type brings its own number.
    workers: Mapping[str, int] = field(default_factory=dict)
    webhook_timeout_s: float = 5.0
    mqtt_timeout_s: float = 5.0
    channels: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    delivery_retention_s: float | None = 30 * DAY_S
    dead_letter_retention_s: float | None = 90 * DAY_S

    @classmethod
    def parse(
        cls, config: Mapping[str, Any] | None, channel_types: Collection[str] | None = None
    ) -> NotificationSettings:
        """From the ``[notifications]`` table; InvalidInput with pointers under ``/notifications``.
        ``channel_types``: the registered type names, which ``workers`` may name (any name, when not given)."""
        config = config or {}
        check = Checker("/notifications")
        check.keys(config, sorted(_SETTING_KEYS), message=f"unknown setting; use {sorted(_SETTING_KEYS)}")
        problems = check.problems

        def number(key: str, default: float, high: float, zero_ok: bool = False) -> float:
            said = f"{key} is a number from 0 to {high:g}"
            return check.number(config, key, low=0.0, high=high, above=not zero_ok, default=default, message=said)

        threshold = number("depth_threshold_m", 0.5, 100.0, zero_ok=True)
        webhook_timeout = number("webhook_timeout_s", 5.0, 300.0)
        mqtt_timeout = number("mqtt_timeout_s", 5.0, 300.0)
        retry = RetryPolicy.parse(config.get("retry"), "/notifications/retry", problems)
        workers: dict[str, int] = {}
        given = config.get("workers", {})
        if not isinstance(given, dict):
            problems.append(Problem("/notifications/workers", "workers is a table: channel type -> thread count"))
            given = {}
        for kind, count in given.items():
            if channel_types is not None and kind not in channel_types:
                problems.append(Problem(f"/notifications/workers/{kind}", f"a channel type: {sorted(channel_types)}"))
            elif isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
                problems.append(Problem(f"/notifications/workers/{kind}", "a thread count from 1 to 64"))
            else:
                workers[kind] = count
        channels = config.get("channels", {})
        if not isinstance(channels, dict) or not all(isinstance(c, dict) for c in channels.values()):
            problems.append(Problem("/notifications/channels", "[notifications.channels.<name>] tables"))
            channels = {}
        delivery_retention = parse_retention(
            config.get("delivery_retention"), 30 * DAY_S, "/notifications/delivery_retention", problems
        )
        letter_retention = parse_retention(
            config.get("dead_letter_retention"), 90 * DAY_S, "/notifications/dead_letter_retention", problems
        )
        if problems:
            raise InvalidInput(problems)
        return cls(
            threshold, retry, workers, webhook_timeout, mqtt_timeout, dict(channels), delivery_retention,
            letter_retention,
        )  # fmt: skip
