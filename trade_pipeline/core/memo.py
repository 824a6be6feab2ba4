"""Bounded in-process memos for work that depends only on content (a response body, a file's bytes).

The weeks of a single-run backfill ask for the same responses again and again; parsing each distinct body once per
process gives exactly the result of parsing it every time. Entries are keyed by a digest of what they are computed
from (never by a week), evicted least-recently-used beyond a total *weight* (bytes of body, rows, …) so a live run
with large answers cannot grow without bound, and shared between callers: a memoized value must be treated as
read-only. ``stats`` counts hits and misses (tests and profiling read it).
"""

from __future__ import annotations

import contextlib
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    def __init__(self, name: str, max_weight: int):
        self.name = name
        self.max_weight = max_weight
        self.stats: Counter[str] = Counter()
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._weight = 0

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        if item is None:
            self.stats["miss"] += 1
            return None
        self.stats["hit"] += 1
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: V, weight: int = 1) -> V:
        """Remember ``value`` (unless it alone outweighs the bound); returns it."""
        weight = max(1, int(weight))
        if weight > self.max_weight:
            return value
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        self._items[key] = (value, weight)
        self._weight += weight
        while self._weight > self.max_weight and self._items:
            _, (_, w) = self._items.popitem(last=False)
            self._weight -= w
        return value

    def discard(self, key: Hashable) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]

    def release(self) -> None:
        """Forget every entry (the counters stay)."""
        self._items.clear()
        self._weight = 0

    def clear(self) -> None:
        self.release()
        self.stats.clear()

    def __len__(self) -> int:
        return len(self._items)


@contextlib.contextmanager
def released_after(*memos: BoundedMemo) -> Iterator[None]:
    """Scope memos to a block (an asset step): their entries are dropped when it ends, so the memory of parsed
    responses is not carried into the rest of the run."""
    try:
        yield
    finally:
        for memo in memos:
            memo.release()
