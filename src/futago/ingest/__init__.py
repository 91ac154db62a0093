"""Connectors and payload mapping: every source becomes the same core readings."""
