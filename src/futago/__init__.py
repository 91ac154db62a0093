"""futago (双子): an open digital-twin integration platform.

physical world → ingest → quality → twins → simulation and analytics → act → physical world.
"""

__version__ = "0.1.0"
