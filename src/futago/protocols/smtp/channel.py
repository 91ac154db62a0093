"""The email notification channel: plain UTF-8 text through an SMTP server.

**Email** (``{"type": "email", "to": "a@example.jp" | [...], "via": "email"}``): plain UTF-8 text through the
SMTP server of the named settings (``host``, ``port``, ``sender``, ``starttls``/``ssl``, ``username``/
``password``), subject and body in the subscriber's language.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from futago.act.notify.channel import (
    DELIVERY_HEADER,
    ENTRY_KEYS,
    ChannelContext,
    Message,
    Outcome,
    SettingsLookup,
    entry_checker,
    named_settings_problems,
)
from futago.core.problems import Problem
from futago.core.secrets import reveal
from futago.core.twins import now_iso

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
_SMTP_KEYS = {"type", "retry", "host", "port", "sender", "username", "password", "starttls", "ssl", "timeout_s"}


def _addresses(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []


class EmailChannel:
    type = "email"
    workers = 4  # an SMTP session takes a few round trips; a server accepts a few sessions at once

    def __init__(self, lookup: SettingsLookup) -> None:
        self.lookup = lookup

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = entry_checker(entry, pointer, ENTRY_KEYS | {"to", "via"})
        to = entry.get("to")
        addresses = _addresses(to)
        if not addresses or len(addresses) > 50:
            checker.problems.append(Problem(f"{pointer}/to", "to is an email address or a list of 1 to 50"))
        for index, address in enumerate(addresses):
            if not isinstance(address, str) or not _ADDRESS.fullmatch(address) or len(address) > 254:
                at = f"{pointer}/to" + (f"/{index}" if isinstance(to, list) else "")
                checker.problems.append(Problem(at, "an email address, e.g. name@example.jp"))
        name = checker.text(entry, "via", max_length=2048) if "via" in entry else "email"
        if name is not None:
            checker.problems += named_settings_problems(self.lookup, name, "email", f"{pointer}/via")
        return checker.problems

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = entry_checker(spec, pointer, _SMTP_KEYS)
        checker.text(spec, "host", required=True, max_length=255)
        checker.integer(spec, "port", low=1, high=65535, default=25)
        sender = checker.text(spec, "sender", required=True, max_length=254)
        if sender is not None and not _ADDRESS.fullmatch(sender):
            checker.problems.append(Problem(f"{pointer}/sender", "sender is an email address, e.g. alerts@city.jp"))
        username = checker.text(spec, "username", max_length=2048)
        password = reveal(spec.get("password"))
        if password is not None and (not isinstance(password, str) or username is None):
            checker.problems.append(Problem(f"{pointer}/password", "password is a string, with a username"))
        if checker.boolean(spec, "starttls") and checker.boolean(spec, "ssl"):
            checker.problems.append(Problem(f"{pointer}/ssl", "use either ssl (SMTPS) or starttls, not both"))
        checker.number(spec, "timeout_s", low=0.0, high=300.0, above=True, default=10.0)
        return checker.problems

    def target(self, entry: Mapping[str, Any]) -> str:
        return ", ".join(_addresses(entry.get("to")))

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        name = str(entry.get("via", "email"))
        settings = self.lookup(name)
        if settings is None or settings.get("type") != "email":
            return Outcome(False, False, f"no email notification channel settings named '{name}'")
        try:
            mail = self._mail(settings, entry, message)
        except (ValueError, TypeError) as exc:  # e.g. a header the email package refuses: sending again cannot help
            return Outcome(False, False, f"cannot write the email: {exc}")
        host, port = str(settings["host"]), int(settings.get("port", 25))
        timeout = float(settings.get("timeout_s", 10.0))
        sent_at = None
        try:
            smtp: smtplib.SMTP
            if settings.get("ssl"):
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                if settings.get("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                if settings.get("username"):
                    smtp.login(str(settings["username"]), str(reveal(settings.get("password", ""))))
                sent_at = now_iso()
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, False, f"the SMTP server refused every recipient: {sorted(exc.recipients)}", sent_at)
        except smtplib.SMTPResponseException as exc:
            # 4xx is the server's "try later"; 5xx (bad sender, authentication, policy) will not change
            answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            temporary = 400 <= exc.smtp_code < 500
            return Outcome(False, temporary, f"the SMTP server answered {exc.smtp_code}: {answer}", sent_at)
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped: the server may be back
            return Outcome(False, True, f"cannot deliver through {host}:{port}: {type(exc).__name__}: {exc}", sent_at)
        detail = f"accepted by {host}:{port}"
        if refused:
            detail += f"; refused {sorted(refused)}"
        return Outcome(True, detail=detail, sent_at=sent_at)

    @staticmethod
    def _mail(settings: Mapping[str, Any], entry: Mapping[str, Any], message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = str(settings["sender"])
        mail["To"] = ", ".join(_addresses(entry.get("to")))
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = make_msgid(idstring=message.delivery_id.replace("-", ""), domain="futago.local")
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to an alert
        mail[DELIVERY_HEADER] = message.delivery_id
        mail.set_content(message.text, charset="utf-8")
        mail["Content-Language"] = message.language  # after set_content, which replaces the Content-* headers
        return mail

    def close(self) -> None:
        return None


def email_channel(context: ChannelContext) -> EmailChannel:
    """The ``email`` channel type."""
    return EmailChannel(context.named_settings)
