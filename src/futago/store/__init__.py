"""The storage port and its adapters. Adapters are chosen by URL in ``futago.app``."""

from futago.store.port import ModelRecord, Store, TelemetryStore, TwinStore

__all__ = ["ModelRecord", "Store", "TelemetryStore", "TwinStore"]
