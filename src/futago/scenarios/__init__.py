"""End-to-end scenarios that run the whole loop headless: ``futago scenario flood`` and ``futago scenario plant``."""
