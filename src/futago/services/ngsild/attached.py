"""State attached to an object that cannot hold it: one value per live owner, made on first use.

The NGSI-LD service and the context resolver are built by the composition root, which knows nothing of the
discovery census or the hosted-context registry; those attach themselves here, and go when their owner goes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

Owner = TypeVar("Owner")
Value = TypeVar("Value")


class Attached(Generic[Owner, Value]):
    """``attached(owner)``: the one value of ``owner``, made by ``make(owner)`` the first time it is asked for."""

    def __init__(self, make: Callable[[Owner], Value]) -> None:
        self._make = make
        self._values: weakref.WeakKeyDictionary[Owner, Value] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, owner: Owner) -> Value:
        with self._lock:
            value = self._values.get(owner)
            if value is None:
                value = self._values[owner] = self._make(owner)
            return value
