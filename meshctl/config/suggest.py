"""Did-you-mean: the closest known name to a misspelt one, by edit distance (transpositions count as one)."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str, *, limit: int = 3) -> int:
    """Optimal-string-alignment distance between ``a`` and ``b``, capped at ``limit + 1`` (cheap for far words)."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def threshold(word: str) -> int:
    """How many edits still count as a likely typo of a word of this length."""
    if len(word) <= 3:
        return 1
    if len(word) <= 8:
        return 2
    return 3


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word`` if it is within :func:`threshold` edits (or equal ignoring case)."""
    best: tuple[int, str] | None = None
    limit = threshold(word)
    lowered = word.lower()
    for candidate in candidates:
        if candidate == word:
            continue
        if candidate.lower() == lowered:
            return candidate
        d = distance(lowered, candidate.lower(), limit=limit)
        if d <= limit and (best is None or d < best[0]):
            best = (d, candidate)
    return best[1] if best else None
