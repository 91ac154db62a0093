#!/usr/bin/env bash
# The README's "running at scale" example, all on this machine: PostgreSQL (PostGIS), NATS (JetStream), a
# Mosquitto broker for the sensors, `futago serve --workers 2` on port 8000 and two `futago worker`s.
# Ctrl-C stops everything; --check publishes readings, checks they arrive, prints a JSON summary and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory install system-deps >/dev/null
exec .venv/bin/python -m futago.scenarios.stack "$@"
