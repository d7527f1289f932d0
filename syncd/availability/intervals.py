"""Algebra on sets of half-open integer intervals ``[start, end)``.

A *span list* is a list of ``(start, end)`` pairs of ints that is sorted, has no
empty spans, and whose spans neither overlap nor touch (touching spans are
joined). Every function here that takes span lists expects that form and
returns it, so results can be chained without re-sorting. Points are plain
ints so the arithmetic is exact and fast; the availability query uses
microseconds since the Unix epoch.
"""

from collections.abc import Iterable, Sequence
from operator import itemgetter

Span = tuple[int, int]

_start = itemgetter(0)


def merge_intervals(spans: Iterable[Span]) -> list[Span]:
    """Normalize arbitrary spans (unsorted, overlapping, touching, empty) to a span list.

    Empty spans (``start >= end``) are dropped: they contain no point. This is the
    hot loop of a query over large calendars, hence the plain locals and the sort on
    starts alone (ints compare several times faster than tuples; the order of spans
    with equal starts cannot change the merged result).
    """
    merged: list[Span] = []
    append = merged.append
    open_start = open_end = 0
    have_open = False
    for start, end in sorted(spans, key=_start):
        if start >= end:
            continue
        if have_open and start <= open_end:
            if end > open_end:
                open_end = end
        else:
            if have_open:
                append((open_start, open_end))
            open_start, open_end, have_open = start, end, True
    if have_open:
        append((open_start, open_end))
    return merged


def widen_intervals(spans: Iterable[Span], before: int, after: int) -> list[Span]:
    """Return span list of ``[start - before, end + after)`` for each non-empty span.

    Empty spans stay empty rather than growing into a blocking span: a
    zero-length busy interval occupies no time, so buffers around it have
    nothing to protect.
    """
    if not before and not after:
        return merge_intervals(spans)
    return merge_intervals([(start - before, end + after) for start, end in spans if start < end])


def intersect_intervals(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """Points in both span lists, by a linear merge of the two."""
    result: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract_intervals(minuend: Sequence[Span], subtrahend: Sequence[Span]) -> list[Span]:
    """Points in ``minuend`` that are not in ``subtrahend``, by a linear merge."""
    result: list[Span] = []
    j = 0
    for start, end in minuend:
        while j < len(subtrahend) and subtrahend[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(subtrahend) and subtrahend[k][0] < end:
            cut_start, cut_end = subtrahend[k]
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            if cut_end >= end:
                break
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def membership_steps(span_lists: Sequence[Sequence[Span]]) -> list[tuple[int, int]]:
    """Step function of which span lists contain each point, as a bitmask.

    Bit ``i`` stands for ``span_lists[i]``. Returns ``(point, mask)`` pairs
    sorted by point, where ``mask`` holds from ``point`` up to the next pair's
    point; consecutive equal masks are collapsed and the last mask is ``0``.
    One sweep over all boundaries replaces pairwise intersections.
    """
    toggles: dict[int, int] = {}
    for index, spans in enumerate(span_lists):
        bit = 1 << index
        for start, end in spans:
            # Spans of one list never touch, so a bit toggles at most once per point.
            toggles[start] = toggles.get(start, 0) ^ bit
            toggles[end] = toggles.get(end, 0) ^ bit
    steps: list[tuple[int, int]] = []
    mask = 0
    for point in sorted(toggles):
        change = toggles[point]
        if change:
            mask ^= change
            steps.append((point, mask))
    return steps
