#!/usr/bin/env bash
# The README's "running at scale" example, all on this machine: PostgreSQL (PostGIS), NATS (JetStream), a
# Mosquitto broker for the sensors, `futago serve --workers 2` on port 8000 and two `futago worker`s.
# Ctrl-C stops everything; --check publishes readings, checks they arrive, prints a JSON summary and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
# The set-up's stage lines go to stderr: stdout holds only --check's JSON summary.
make --no-print-directory install system-deps >&2
exec .venv/bin/python -m futago.scenarios.stack "$@"
