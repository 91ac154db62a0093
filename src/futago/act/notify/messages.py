"""The text of a notification: a standard template per language and alert event (a flood zone's own wording, or a
general one), then the alert's own message, then the planned depth at the subscriber's place."""

from __future__ import annotations

from futago.act.model import Alert

_SEVERITY = {
    "ja": {"info": "情報", "warning": "警戒", "critical": "危険"},
    "en": {"info": "Info", "warning": "Warning", "critical": "Danger"},
}
# (subject, first line) per language and event; {place} is the zone's name, else the alert's twin.
_FLOOD = {
    "ja": {
        "raised": ("【{severity}】{place}で氾濫の危険", "{place}で氾濫の危険。避難してください。"),
        "escalated": (
            "【再通知・{severity}】{place}で氾濫の危険",
            "{place}で氾濫の危険が続いています。直ちに避難してください。",
        ),
        "acknowledged": ("【対応中】{place}の氾濫警報", "{place}の氾濫警報を担当者が確認し、対応しています。"),
        "resolved": ("【解除】{place}の氾濫警報", "{place}の氾濫警報は解除されました。"),
    },
    "en": {
        "raised": ("[{severity}] Flood danger at {place}", "Flood danger at {place}: evacuate."),
        "escalated": (
            "[Reminder, {severity}] Flood danger at {place}",
            "Flood danger at {place} continues: evacuate now.",
        ),
        "acknowledged": ("[In hand] Flood alert for {place}", "The flood alert for {place} is being handled by staff."),
        "resolved": ("[All clear] Flood alert for {place}", "The flood alert for {place} has ended."),
    },
}
_GENERAL = {
    "ja": {
        "raised": ("【{severity}】{rule}", "{place}で警報が発生しました。"),
        "escalated": ("【再通知・{severity}】{rule}", "{place}の警報が続いています。"),
        "acknowledged": ("【対応中】{rule}", "{place}の警報を担当者が確認しました。"),
        "resolved": ("【解除】{rule}", "{place}の警報は解除されました。"),
    },
    "en": {
        "raised": ("[{severity}] {rule}", "Alert at {place}."),
        "escalated": ("[Reminder, {severity}] {rule}", "The alert at {place} continues."),
        "acknowledged": ("[In hand] {rule}", "The alert at {place} has been acknowledged by staff."),
        "resolved": ("[All clear] {rule}", "The alert at {place} has ended."),
    },
}
_DEPTH_LINE = {
    "ja": "お住まいの場所の想定浸水深: {depth:.1f} m",
    "en": "Planned inundation depth at your place: {depth:.1f} m",
}


def render(alert: Alert, kind: str, language: str, place: str, flood: bool, depth: float | None) -> tuple[str, str]:
    """Subject and text in the subscriber's language: the standard template, then the alert's own message
    (in that language, else in the other one, rather than nothing)."""
    lang = language if language in _SEVERITY else "ja"
    subject, first = (_FLOOD if flood else _GENERAL)[lang][kind]
    values = {"severity": _SEVERITY[lang][alert.severity], "place": place, "rule": alert.rule}
    lines = [first.format(**values)]
    own = alert.message.get(lang) or next((m for m in alert.message.values() if m), "")
    if own:
        lines.append(own)
    if depth is not None and kind in ("raised", "escalated"):
        lines.append(_DEPTH_LINE[lang].format(depth=depth))
    # a subject is one line: a zone's name with a line break in it must not break an email header
    return " ".join(subject.format(**values).split()), "\n".join(lines)
