"""The benchmark families one pooled library serves.

As in the original system, VSI-Bench, CV-Bench, BLINK and MMSI-Bench questions share one Skill
Library: question types never collide across them, so retrieval needs no per-benchmark split.
Each skill names the family whose questions it answers (`Skill.family`: written in the seeds,
and by evolution from the reference rows the rollouts were scored against), which is what tells
whether evolution learned for every benchmark or only for the one with the most questions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from skill3d_eval.scoring.dispatch import Family
from skill3d_eval.skills.model import Skill


def evolved_skills_by_family(skills: Iterable[Skill]) -> dict[Family, int]:
    """Active evolved skills per benchmark family; its length is the number of families evolution learned for."""
    counts = Counter(s.family for s in skills if s.provenance.origin == "evolved" and not s.retired and s.family is not None)
    return dict(sorted(counts.items()))
