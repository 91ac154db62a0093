"""An in-memory GraphSource that honours every TwinScan field, as a real store must."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator

from futago.core.twins import BBox, Relationship, Twin, TwinScan


def _bounds(geometry: dict | None) -> BBox | None:
    if not geometry:
        return None
    xs: list[float] = []
    ys: list[float] = []

    def visit(coords: object) -> None:
        if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, list):
            for c in coords:
                visit(c)

    visit(geometry.get("coordinates"))
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


class MemorySource:
    def __init__(self, twins: Iterable[Twin] = (), relationships: Iterable[Relationship] = ()) -> None:
        self.twins: dict[str, Twin] = {t.id: t for t in twins}
        self.ids = sorted(self.twins)
        self.by_model: dict[str, list[str]] = {}
        for twin_id in self.ids:
            self.by_model.setdefault(self.twins[twin_id].model, []).append(twin_id)
        self.rels: dict[str, list[Relationship]] = {}
        for rel in relationships:
            self.rels.setdefault(rel.source_id, []).append(rel)
        self.scans: list[TwinScan] = []

    def _candidates(self, scan: TwinScan) -> Iterator[str]:
        if scan.twin_ids is not None:
            ids = sorted(i for i in scan.twin_ids if i in self.twins)
            start = 0 if scan.after_id is None else bisect.bisect_right(ids, scan.after_id)
            yield from ids[start:]
            return
        lists = [self.ids] if scan.model_ids is None else [self.by_model.get(m, []) for m in scan.model_ids]
        slices = []
        for ids in lists:
            start = 0 if scan.after_id is None else bisect.bisect_right(ids, scan.after_id)
            slices.append(ids[start:] if len(lists) > 1 else iter(ids[start:]))
        yield from heapq.merge(*slices) if len(slices) > 1 else slices[0] if slices else ()

    def scan_twins(self, scan: TwinScan) -> list[Twin]:
        self.scans.append(scan)
        out: list[Twin] = []
        for twin_id in self._candidates(scan):
            twin = self.twins[twin_id]
            if scan.model_ids is not None and twin.model not in scan.model_ids:
                continue
            if scan.bbox is not None:
                b = _bounds(twin.geometry)
                q = scan.bbox
                if b is None or b[0] > q[2] or b[2] < q[0] or b[1] > q[3] or b[3] < q[1]:
                    continue
            out.append(twin)
            if scan.limit is not None and len(out) >= scan.limit:
                break
        return out

    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]:
        return {i: self.twins[i] for i in twin_ids if i in self.twins}

    def list_relationships_of(self, source_ids: Iterable[str], name: str | None = None) -> list[Relationship]:
        return [r for s in source_ids for r in self.rels.get(s, []) if name is None or r.name == name]


class Catalog:
    """A ModelCatalog from a child -> parent map."""

    def __init__(self, parents: dict[str, str] | None = None) -> None:
        self.parents = parents or {}

    def descendants(self, model_id: str) -> frozenset[str]:
        out = {model_id}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parents.items():
                if parent in out and child not in out:
                    out.add(child)
                    changed = True
        return frozenset(out)
