"""Pages of what a caller may see: the visibility rule applies before the page is cut, not after.

Policies decide per item whether a caller sees it (``Access.may_see``, ``Access.shape_row``), and they cannot be
put into every store's SQL, so a list route reads its source in batches and keeps what the caller may see until
the page is full. A page of ``limit`` therefore holds ``limit`` visible items whenever that many exist, and its
cursor goes on right after the last item shown, so the next page neither skips nor repeats one.

Reading is bounded: at most ``SCAN_MAX`` items are looked at for one page. A caller who may see almost nothing of
a large list then gets a short page (or an empty one) with a cursor that goes on from where the reading stopped;
only a page without a cursor says that nothing more is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")  # an item as the source gives it
S = TypeVar("S")  # an item as the caller sees it
C = TypeVar("C")  # a cursor of the source

SCAN_MAX = 20_000  # items looked at for one page at most
BATCH = 200  # items read at once from a source whose cursor can stop after any item


def visible_page(
    fetch: Callable[[C | None, int], tuple[list[T], C | None]],
    shown: Callable[[T], S | None],
    limit: int,
    cursor: C | None = None,
    after_item: Callable[[T], C] | None = None,
) -> tuple[list[S], C | None]:
    """Up to ``limit`` items as the caller sees them, and the cursor of the next page (None: nothing more).

    ``fetch(cursor, n)``: up to ``n`` items after ``cursor`` and the cursor after them (None when the source has
    no more). ``shown(item)``: the item as the caller sees it, None when hidden. ``after_item(item)``: the cursor
    right after one item, where the source has one (an id, a sequence number); then batches may be larger than
    what the page still needs (the first read asks for the page alone: most callers see most of what they list).
    Without it each read asks for exactly what is missing, so that a batch is always used up and the source's own
    cursor is the right one."""
    page: list[S] = []
    scanned = 0
    while True:
        missing = limit - len(page)
        larger = after_item is not None and scanned > 0
        items, after = fetch(cursor, max(missing, BATCH) if larger else missing)
        for index, item in enumerate(items):
            seen = shown(item)
            if seen is not None:
                page.append(seen)
            if len(page) == limit:
                used_up = index == len(items) - 1
                return page, (after if used_up or after_item is None else after_item(item))
        scanned += len(items)
        cursor = after
        if after is None or not items:
            return page, None
        if scanned >= SCAN_MAX:
            return page, after


def keyset(
    read: Callable[[C | None, int], list[T]], key: Callable[[T], C]
) -> Callable[[C | None, int], tuple[list[T], C | None]]:
    """A ``fetch`` over a source read after a key (``after=<id>``): a full batch may have more behind it."""

    def fetch(cursor: C | None, n: int) -> tuple[list[T], C | None]:
        items = read(cursor, n)
        return items, (key(items[-1]) if items and len(items) == n else None)

    return fetch


def newest_visible(read: Callable[[int], list[T]], shown: Callable[[T], S | None], limit: int) -> list[S]:
    """The newest ``limit`` items the caller may see, of a source that has no cursor (only "the newest n"): read
    twice as many each time until the page is full, the source has no more, or ``SCAN_MAX`` items were read."""
    n = limit
    while True:
        items = read(n)
        page = [seen for item in items if (seen := shown(item)) is not None]
        if len(page) >= limit or len(items) < n or n >= SCAN_MAX:
            return page[:limit]
        n = min(2 * n, SCAN_MAX)
