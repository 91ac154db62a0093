"""The adapters of the role ports of ``futago.core.ports``: ``sqlite`` (embedded default) and ``postgres``
(scale-out), sharing the portable SQL of ``sql/``. Adapters are chosen by URL in ``futago.app``."""
