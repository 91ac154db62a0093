"""Rules: what they say (parsed from JSON or YAML, every problem reported with its pointer) and how a condition is
judged, one reading at a time.

A rule names its target (``twins`` or every twin of a ``twinModel``, optionally narrowed by a spatial ``scope``),
a ``when`` condition tree (``all``/``any``/``not`` over leaves), and what an alert carries (``severity``,
``message``, ``area``, ``recommend``). Leaves are incremental: each keeps a small state per (rule, twin) and is fed
readings in time order, so the engine never re-reads history to judge a new reading. Time is the readings' own
time, so replaying history gives the alerts that the live system would have raised.

Leaves, and what they read:

* ``threshold`` {telemetry, above | below, clear?, for?}: ``clear`` is the hysteresis level (a rule that fired
  above 4.0 with clear 3.8 stays true down to 3.8, so it does not flap around 4.0). On a ``*_forecast`` series the
  leaf judges each forecast as a whole: its peak (or trough) within ``within`` of its first step.
* ``rate`` {telemetry, per, above | below, over?}: change per ``per`` over the last ``over`` (default ``per``).
* ``exceedance`` {telemetry, stage?, probability, clear?, within?}: the behaviour's
  ``<telemetry>_exceedance~<stage>`` series, the probability of reaching a warning stage within the behaviour's
  horizon (``within`` states that horizon, for the record and the message; the series is what decides).
* ``anomaly`` {telemetry = anomalyScore, above = 1}: a detector's score (above 1 is anomalous).
* ``quality`` {telemetry, flag?, test?} or {telemetry, stuck, tolerance?}: a QARTOD flag at least ``flag`` (the
  flag a reading arrives with; with ``test``, that test's own flag series ``<telemetry>~qc:<test>``, which also
  catches flags that become final only with the next reading, as flat line and spike do), or a value that has not
  moved by more than ``tolerance`` for ``stuck``.

Every leaf also takes ``for`` (it must hold that long) and, for value leaves, ``minQuality`` (readings flagged
worse are ignored; default 3, so a failed reading never fires a rule).
"""

from futago.act.rules.leaves import STAGES, Anomaly, Exceedance, Leaf, LeafState, Quality, Rate, Row, Threshold
from futago.act.rules.parser import load_rule_file, parse_rule
from futago.act.rules.rule import AreaSpec, Node, Recommend, Rule, Scope, render

__all__ = [
    "STAGES",
    "Anomaly",
    "AreaSpec",
    "Exceedance",
    "Leaf",
    "LeafState",
    "Node",
    "Quality",
    "Rate",
    "Recommend",
    "Row",
    "Rule",
    "Scope",
    "Threshold",
    "load_rule_file",
    "parse_rule",
    "render",
]
