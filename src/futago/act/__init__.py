"""Feedback to the physical world: rules, the alert lifecycle, notifications, and commands with a safety envelope."""
