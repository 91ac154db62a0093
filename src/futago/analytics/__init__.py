"""Anomaly detection, forecasting, remaining useful life and metrics. Depends on core only."""
