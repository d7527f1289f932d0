"""Sequenced availability: place several events one after another.

Each step has its own candidate slots (computed by ``evaluate_availability``); this
module only chains them. Step ``k + 1`` must start at least ``min_gap`` and at most
``max_gap`` (when given) after step ``k`` ends. For each candidate of the first step,
in start order, the earliest chain of candidates is taken (depth-first, trying later
candidates only when an earlier one leads nowhere), so every answer starts at a
different time and each is the earliest completion of its first step.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from syncd.availability.model import AvailableTime


@dataclass(frozen=True, slots=True)
class StepCandidates:
    """A step's candidate slots (sorted by start) and the gap allowed before it."""

    slots: Sequence[AvailableTime]
    min_gap: timedelta = timedelta(0)
    max_gap: timedelta | None = None


def chain_sequences(steps: Sequence[StepCandidates], max_results: int) -> list[list[AvailableTime]]:
    """Up to ``max_results`` chains, one slot per step, by first-step start.

    Memoized on (step, slot): each candidate is explored once, so the search is
    linear in the candidates times the slots each may reach."""
    if not steps:
        return []
    starts = [[slot.start for slot in step.slots] for step in steps]
    memo: dict[tuple[int, int], list[AvailableTime] | None] = {}

    def suffix(index: int, position: int) -> list[AvailableTime] | None:
        key = (index, position)
        if key in memo:
            return memo[key]
        slot = steps[index].slots[position]
        found: list[AvailableTime] | None = None
        if index + 1 == len(steps):
            found = [slot]
        else:
            following = steps[index + 1]
            earliest = slot.end + following.min_gap
            latest = None if following.max_gap is None else slot.end + following.max_gap
            reachable = starts[index + 1]
            for candidate in range(bisect_left(reachable, earliest), len(reachable)):
                if latest is not None and reachable[candidate] > latest:
                    break
                rest = suffix(index + 1, candidate)
                if rest is not None:
                    found = [slot, *rest]
                    break
        memo[key] = found
        return found

    results: list[list[AvailableTime]] = []
    for position in range(len(steps[0].slots)):
        chain = suffix(0, position)
        if chain is not None:
            results.append(chain)
            if len(results) >= max_results:
                break
    return results
