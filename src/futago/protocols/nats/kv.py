"""The names of the NATS client library that the scale-out layer uses beyond a link: key-value buckets (partition
leases, the cluster's settings), JetStream contexts and subscriptions, and the errors they raise.

Kept here, so that the NATS client library is known to protocols/nats alone: a client upgrade that renames any of
them touches this folder, not the layers that use NATS through it.
"""

from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError, TimeoutError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    APIError,
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
    NotFoundError,
)
from nats.js.kv import KeyValue

__all__ = [
    "APIError",
    "BadRequestError",
    "BucketNotFoundError",
    "JetStreamContext",
    "KeyNotFoundError",
    "KeyValue",
    "KeyValueConfig",
    "KeyWrongLastSequenceError",
    "NoKeysError",
    "NoRespondersError",
    "NotFoundError",
    "StorageType",
    "Subscription",
    "TimeoutError",
]
