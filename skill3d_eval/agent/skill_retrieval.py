"""The retrieval step every library-guided policy takes before it starts on a question."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.skills.retrieval import Retrieval
from skill3d_eval.skills.scene import SceneDescriptor, describe_scene
from skill3d_eval.tools import ToolContext
from skill3d_eval.tools.errors import ToolError

logger = logging.getLogger(__name__)


class Library(Protocol):
    sha256: str

    def retrieve(self, sample: Sample, tools: Any = None, scene: SceneDescriptor | None = None) -> Retrieval: ...


def retrieve_for(library: Library, sample: Sample, tools: Any, context: ToolContext, trajectory: Trajectory) -> Retrieval:
    """Retrieve with the scene's descriptor, and record it all. The descriptor is recorded even
    when no skill is keyed by scene yet: evolution clusters the training rollouts by it. Its
    depth probes are ones the tools ask for anyway (ToolContext and Scene Memory serve them once)."""
    scene: SceneDescriptor | None = None
    with context.ledger() as ledger:
        try:
            scene = describe_scene(context)
        except (ExpertError, ToolError) as exc:  # a deployment without depth or reconstruction still answers: skills rank without the scene
            logger.warning("%s: no scene descriptor (%s); retrieval ranks skills without it", sample.sample_id, exc)
    trajectory.scene_probe_expert_calls = ledger.expert_calls
    retrieval = library.retrieve(sample, tools, scene=scene)
    trajectory.retrieved_skills = retrieval.skill_ids
    trajectory.retrieval_scores = retrieval.scores
    trajectory.library_sha256 = library.sha256
    trajectory.scene_descriptor = scene.model_dump() if scene is not None else None
    return retrieval
