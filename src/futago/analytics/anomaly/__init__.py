"""Anomaly detectors, streaming and batch, sharing the ``Detector`` protocol."""
