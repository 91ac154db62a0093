"""Commands: from a rule's proposal or a person's request to the device, through a safety envelope.

Every command is bound per twin and DTDL Command (``[commands."gate-1".setOpening]`` in futago.toml, or
``PUT /command-bindings/{twin}/{command}``) to a transport, a mode and an envelope::

    [commands."gate-1".setOpening]
    mode = "recommend"            # or "autonomous"
    transport = { type = "mqtt", connection = "gates", topic = "gates/{twin}/{command}" }   # see act/transport.py
    expires = "30m"               # a proposal not approved by then is refused (optional)

    [commands."gate-1".setOpening.envelope]
    field = "percent"             # the numeric checks apply to this field of the payload (or to the payload itself)
    min = 0
    max = 100
    max_step = 20                 # largest change from the last value sent
    max_rate = "10/1m"            # largest change per unit of time since the last value sent (a number: per second)
    rate_limit = "1/5m"           # at most 1 command sent per 5 minutes
    interlocks = [{ telemetry = "flow", above = 5 }]   # refuse while the twin's latest flow is above 5

Interlocks read the latest telemetry or a property (``property = "operation", equals = "manual"``) of the twin, or of
another (``twin = "river-1"``), with ``above``, ``below``, ``equals`` or ``not_equals``; ``max_age`` treats older
readings as missing, and a missing value refuses unless ``when_missing = "allow"``.

The states of a command::

    proposed ──approve──► approved ──► sent ──► completed
       │  │  │               │           └────► failed
       │  │  └──reject──► rejected           approved ──► failed (it could not be sent)
       │  └──(the envelope says no, at proposal or at approval)──► refused
       └──(the alert behind it resolved before anyone decided)──► withdrawn

A rule's proposal follows its alert: each alert makes its own, and when the alert resolves its undecided proposals
are withdrawn (the history entry and ``reasons`` say which alert resolved, when and by whom); approving one whose
alert has resolved is a 409. In **recommend** mode a proposal waits for a person; the envelope is checked again when
they approve, because the twin may have changed meanwhile. A proposal outside the bounds, or without a binding, is
refused at once. In **autonomous** mode a command inside the envelope is approved by ``autonomous`` and sent at
once, and refused otherwise. Every transition is stored (the record is the audit: who proposed it and why, who
approved it, what was sent, the device's answer and the resulting state) and published on the bus as
``command.<state>``.
"""

from futago.act.commands.binding import Binding
from futago.act.commands.dispatch import Transports
from futago.act.commands.envelope import Envelope, Interlock, Reason, TwinReader
from futago.act.commands.record import (
    AUTONOMOUS,
    EVENT_OF_STATE,
    FINAL,
    STATES,
    CommandRecord,
    CommandState,
    Mode,
)
from futago.act.commands.service import CommandService, ModelCatalog
from futago.core.events import COMMAND_REFUSED  # refused: turned down by the safety envelope

__all__ = [
    "AUTONOMOUS",
    "COMMAND_REFUSED",
    "EVENT_OF_STATE",
    "FINAL",
    "STATES",
    "Binding",
    "CommandRecord",
    "CommandService",
    "CommandState",
    "Envelope",
    "Interlock",
    "Mode",
    "ModelCatalog",
    "Reason",
    "Transports",
    "TwinReader",
]
