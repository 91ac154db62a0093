"""``python -m futago.cli``: the same command as the ``futago`` script, for tests and environments without it."""

from futago.cli import main

main()
