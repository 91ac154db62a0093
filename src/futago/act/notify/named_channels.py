"""Named channel settings: the SMTP servers and MQTT brokers that subscriber channels send ``via``, from the
configuration (``[notifications.channels.<name>]``) and the API, with the retry policy each may set."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from futago.act.notify.channel import Channel, check_name
from futago.act.notify.directory import redact
from futago.act.notify.settings import NotificationSettings, RetryPolicy
from futago.act.notify.subscribers import Subscriber
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.ports import NotificationStore
from futago.core.problems import Problem
from futago.core.secrets import conceal, keep_stored

# What ``describe`` adds to named settings: accepted and ignored on a PUT.
_SHOWN_ONLY = ("name", "source")


class NamedChannels:
    """Named settings by name, each with its source (``configuration`` or ``api``); an API edit overrides the
    configuration's until it is deleted. Secrets are stored sealed, shown masked, revealed only to log in."""

    def __init__(
        self,
        store: NotificationStore,
        settings: NotificationSettings,
        channels: Mapping[str, Channel],
        subscribers: Callable[[], Iterable[Subscriber]],
    ) -> None:
        self.store = store
        self.settings = settings
        self.channels = channels  # the service's channels by type (filled once they are built)
        self.subscribers = subscribers
        self._lock = threading.RLock()
        self._named = self._load()

    def _load(self) -> dict[str, tuple[dict[str, Any], str]]:
        named = {name: (conceal(dict(spec)), "configuration") for name, spec in self.settings.channels.items()}
        named.update({name: (spec, "api") for name, spec in self.store.list_notification_channels().items()})
        return named

    def settings_of(self, name: str) -> Mapping[str, Any] | None:
        found = self._named.get(name)
        return None if found is None else found[0]

    def _check_settings(self, name: str, spec: Any) -> RetryPolicy:
        problems = check_name(name, "/name")
        if not isinstance(spec, dict):
            raise InvalidInput([*problems, Problem("", "channel settings are an object with a 'type'")])
        kind = spec.get("type")
        channel = self.channels.get(kind) if isinstance(kind, str) else None
        if channel is None:
            problems.append(Problem("/type", f"type is one of {sorted(self.channels)}"))
        else:
            problems += channel.check_settings(spec, "")
        policy = RetryPolicy.parse(spec.get("retry"), "/retry", problems, self.settings.retry)
        if problems:
            raise InvalidInput(problems)
        return policy

    def check_configured(self) -> None:
        """Check the named settings of the configuration at start, so a typo is found before an alert."""
        for name, spec in self.settings.channels.items():
            try:
                self._check_settings(name, spec)
            except InvalidInput as exc:
                problems = [Problem(f"/notifications/channels/{name}{p.pointer}", p.message) for p in exc.problems]
                raise InvalidInput(problems) from None

    def put(self, name: str, spec: Any) -> tuple[dict[str, Any], bool]:
        if isinstance(spec, dict):  # what a GET gave may come back: its shown-only keys go, its masks keep secrets
            spec = keep_stored({k: v for k, v in spec.items() if k not in _SHOWN_ONLY}, self.settings_of(name))
        self._check_settings(name, spec)
        created = name not in self._named
        spec = conceal(spec)  # stored sealed, shown masked, revealed only to log in
        self.store.put_notification_channel(name, spec)
        with self._lock:
            self._named = {**self._named, name: (spec, "api")}
        return self.describe(name), created

    def describe(self, name: str) -> dict[str, Any]:
        found = self._named.get(name)
        if found is None:
            raise NotFound(f"notification channel settings '{name}' do not exist")
        return {"name": name, **redact(found[0]), "source": found[1]}

    def describe_all(self) -> list[dict[str, Any]]:
        return [self.describe(name) for name in sorted(self._named)]

    def delete(self, name: str) -> None:
        found = self._named.get(name)
        if found is None:
            raise NotFound(f"notification channel settings '{name}' do not exist")
        if found[1] == "configuration":
            raise Conflict(
                f"'{name}' is defined in the configuration ([notifications.channels.{name}]); remove it there"
            )
        configured = self.settings.channels.get(name)
        users = sorted(s.id for s in self.subscribers() if any(self._uses(c, name) for c in s.channels))
        if users and configured is None:
            raise Conflict(f"subscribers {users[:10]} send through '{name}'; change their channels first")
        self.store.delete_notification_channel(name)
        with self._lock:  # an override made through the API gives way to the configuration's settings again
            named = {k: v for k, v in self._named.items() if k != name}
            if configured is not None:
                named[name] = (conceal(dict(configured)), "configuration")
            self._named = named

    @staticmethod
    def _uses(entry: Mapping[str, Any], name: str) -> bool:
        if entry.get("type") == "email" or (entry.get("type") == "mqtt" and not {"connection", "host"} & set(entry)):
            return entry.get("via", entry.get("type")) == name
        return False

    def policy(self, entry: Mapping[str, Any]) -> RetryPolicy:
        """The retry policy of a subscriber's channel entry: that of the settings it sends via, else the service's."""
        spec = self.settings_of(str(entry.get("via", entry.get("type"))))
        if spec is None or "retry" not in spec:
            return self.settings.retry
        return RetryPolicy.parse(spec["retry"], "/retry", [], self.settings.retry)
