"""The leakage guard: a library must not have been built from the split it is evaluated on.

A skill's provenance lists the sample ids, scenes and questions of the rollouts it was induced
from; if any of them belongs to the samples about to be evaluated, the scores would measure memory,
not skill, so evaluation is refused with the offending skills named.
"""

from __future__ import annotations

from collections.abc import Iterable

from skill3d_eval.records import SampleIdentity
from skill3d_eval.skills.model import Skill


class LeakageError(Exception):
    pass


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def check_leakage(skills: Iterable[Skill], samples: Iterable[SampleIdentity]) -> None:
    """Raise LeakageError when a skill was built from any of these samples' scenes or questions."""
    samples = list(samples)
    scenes = {s.scene for s in samples if s.scene}
    questions = {_normalize(s.question) for s in samples}
    sample_ids = {s.sample_id for s in samples}
    offenders = []
    for skill in skills:
        p = skill.provenance
        shared_scenes = scenes.intersection(p.scenes)
        # Templated benchmarks repeat question wording across scenes, so when the skill's scenes
        # are known they decide; only scene-less provenance is matched on question text.
        # Prompts may wrap the dataset's question (pre/post prompts): containment counts as shared.
        built_from = set() if p.scenes else {_normalize(q) for q in p.questions}
        shared_questions = {q for q in questions if q in built_from or any(q in b or b in q for b in built_from)}
        shared_ids = sample_ids.intersection(p.sample_ids)
        if shared_scenes or shared_questions or shared_ids:
            offenders.append(
                f"{skill.id} (split {p.split!r}: {len(shared_scenes)} shared scenes e.g. {sorted(shared_scenes)[:3]}, "
                f"{len(shared_questions)} shared questions, {len(shared_ids)} shared samples)"
            )
    if offenders:
        raise LeakageError(
            f"the library was built from the evaluated data: {len(offenders)} skill(s) overlap it: " + "; ".join(offenders[:5])
            + ". Evolve the library on the training split only, or evaluate on another split."
        )
