"""The program policy executes the retrieved skill's workflow: fallbacks, next skill, recorded failure."""

from __future__ import annotations

import pytest

from skill3d_eval.agent.program import ProgramError, ProgramPolicy
from skill3d_eval.records import Trajectory
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.skills.embedding import LexicalEmbedder
from skill3d_eval.skills.model import Skill, SkillStats
from skill3d_eval.skills.rollouts import references_of, synth_samples
from skill3d_eval.skills.snapshot import FrozenLibrary
from skill3d_eval.tools import ToolContext, default_toolset

pytestmark = pytest.mark.integration


def _counting(skill_id: str, pattern: str, tool: str, fallbacks: dict[str, str] | None = None, uses: int = 0) -> Skill:
    return Skill.model_validate({
        "id": skill_id, "task_types": ["object_counting"], "trigger": "count objects", "strategy": "count",
        "stats": SkillStats(uses=uses, successes=uses).model_dump(),
        "workflow": {"question_pattern": pattern, "steps": [{"tool": tool, "arguments": {"category": "{category}"}}],
                     "final": {"op": "value", "path": "count"}, "fallbacks": fallbacks or {}},
    })


@pytest.fixture(scope="module")
def counting_sample(synth_root):
    keys, samples = synth_samples(synth_root, "train", {"object_counting"})
    sample = samples[keys[0].doc_id]
    return sample, references_of(synth_root, "train")[sample.doc_id]


def _run(policy, sample, client):
    trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question, task_type=sample.task_type, scene=sample.scene, policy="program")
    return policy.run(sample, ToolContext(sample, client), trajectory)


def test_a_failed_step_falls_back_to_the_skills_next_tool(counting_sample, synth_triton):
    sample, reference = counting_sample
    skill = _counting("count.fallback", "How many {category}(s) are in this room?", "locate_objects_v2", {"locate_objects_v2": "locate_objects"})
    library = FrozenLibrary.in_memory([skill], LexicalEmbedder())
    with ExpertsClient(synth_triton.grpc_url) as client:
        trajectory = _run(ProgramPolicy(default_toolset(), library), sample, client)
    first, second = trajectory.turns
    assert not first.observations[0].ok and "unknown tool" in first.observations[0].error
    assert second.tool_calls[0].name == "locate_objects" and second.observations[0].ok
    assert trajectory.answer == reference.ground_truth and trajectory.executed_skill == "count.fallback"
    assert trajectory.library_sha256 == library.sha256


def test_the_next_retrieved_skill_runs_when_the_best_does_not_fit(counting_sample, synth_triton):
    sample, reference = counting_sample
    wrong = _counting("count.wrong_template", "Count the {category} please", "locate_objects", uses=50)
    right = _counting("count.right", "How many {category}(s) are in this room?", "locate_objects")
    policy = ProgramPolicy(default_toolset(), FrozenLibrary.in_memory([wrong, right], LexicalEmbedder()))
    with ExpertsClient(synth_triton.grpc_url) as client:
        trajectory = _run(policy, sample, client)
    assert trajectory.retrieved_skills == ["count.wrong_template", "count.right"]
    assert trajectory.executed_skill == "count.right" and trajectory.answer == reference.ground_truth


def test_no_fitting_skill_is_a_program_error_naming_each_attempt(counting_sample, synth_triton):
    sample, _ = counting_sample
    broken = _counting("count.broken", "How many {category}(s) are in this room?", "locate_objects_v2")
    policy = ProgramPolicy(default_toolset(), FrozenLibrary.in_memory([broken], LexicalEmbedder()))
    with ExpertsClient(synth_triton.grpc_url) as client:
        with pytest.raises(ProgramError, match=r"count.broken: step locate_objects_v2 failed: unknown tool"):
            _run(policy, sample, client)
        other_type = sample.__class__(**{**sample.__dict__, "task_type": "route_planning", "question": "Which route?"})
        with pytest.raises(ProgramError, match="count.broken: question does not match"):
            _run(policy, other_type, client)
