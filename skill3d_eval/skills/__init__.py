"""The Skill Library: typed skills and lessons, a transactional store, evolution from training
rollouts, retrieval, frozen snapshots with a leakage guard, and prompt guidance."""

from skill3d_eval.skills.distill import DistillationError, distill
from skill3d_eval.skills.evolve import (
    EvolutionConfig,
    EvolutionError,
    EvolutionReport,
    evolve,
)
from skill3d_eval.skills.guidance import render_guidance
from skill3d_eval.skills.leakage import LeakageError, check_leakage
from skill3d_eval.skills.memory import SceneFact, SceneMemory
from skill3d_eval.skills.model import (
    FailureKind,
    FinalComputation,
    Lesson,
    Provenance,
    SceneTraits,
    Skill,
    SkillStats,
    Step,
    Workflow,
)
from skill3d_eval.skills.retrieval import Hit, Retrieval, RetrievalWeights, SkillIndex
from skill3d_eval.skills.seeds import load_seed_skills, seed_library
from skill3d_eval.skills.snapshot import FrozenLibrary, SnapshotError, freeze
from skill3d_eval.skills.store import SkillStore, StoreError

__all__ = [
    "DistillationError", "EvolutionConfig", "EvolutionError", "EvolutionReport", "FailureKind", "FinalComputation", "FrozenLibrary", "Hit",
    "LeakageError", "Lesson", "Provenance", "Retrieval", "RetrievalWeights", "SceneFact", "SceneMemory", "SceneTraits",
    "Skill", "SkillIndex", "SkillStats", "SkillStore", "SnapshotError", "Step", "StoreError", "Workflow",
    "check_leakage", "distill", "evolve", "freeze", "load_seed_skills", "render_guidance", "seed_library",
]
