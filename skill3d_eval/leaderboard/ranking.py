"""The order of a table's rows: grouped as the VSI-Bench paper groups them, best first inside a group.

The rank is over all ranked runs, not within the group, so "3" means the third-best run on the
chosen column whichever group it sits in. Runs whose scores read the same as shown (0.1 points)
share a rank and the next rank is skipped ("1, 2, 2, 4"): a difference the table does not show
is not one a reader should be told about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skill3d_eval.leaderboard.conditions import GROUPS, Group


def shown(value: float) -> float:
    """The score as the tables print it: percent with one decimal."""
    return round(100 * value, 1)


def competition_ranks(values: Mapping[str, float]) -> dict[str, int]:
    """Rank of each run by its value, highest first; equal shown values share the rank."""
    ordered = sorted(values, key=lambda label: -shown(values[label]))
    ranks: dict[str, int] = {}
    for position, label in enumerate(ordered, 1):
        previous = ordered[position - 2] if position > 1 else None
        same = previous is not None and shown(values[previous]) == shown(values[label])
        ranks[label] = ranks[previous] if same else position
    return ranks


def row_order(labels: Sequence[str], groups: Mapping[str, Group], values: Mapping[str, float]) -> list[str]:
    """Group by group (paper order), then best first; ties keep the command line's order."""
    return sorted(labels, key=lambda label: (GROUPS.index(groups[label]), -shown(values[label])))
