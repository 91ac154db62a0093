"""Launchers of real peers for the tests, the benchmarks and the scenarios: Mosquitto, NATS, PostgreSQL and the
simulated OPC UA plant, each started on a free local port and stopped cleanly.

They live in the package (not under ``tests/``) because ``futago bench`` and the end-to-end scenarios start the same
peers as the tests do. Nothing in the loop itself imports them.
"""
