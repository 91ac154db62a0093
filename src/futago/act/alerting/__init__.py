"""The parts of the alert service (``act.engine.AlertService``): which twins a rule targets, the judging of rules on
readings, the alert book (lifecycle, suppression, escalation), the proposals of ``recommend``, and the events out."""
