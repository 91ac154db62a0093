"""Public face of futago's DTDL support: ``futago.dtdl.validate`` and ``futago.dtdl.load``.

The implementation lives in ``futago.core.dtdl``; this module re-exports its public names.
"""

from __future__ import annotations

from futago.core.dtdl import *  # noqa: F403
from futago.core.dtdl import __all__ as __all__
