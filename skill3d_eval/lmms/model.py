"""The lmms-eval model `skill3d`: each generate request is answered by the agent.

This adapter only turns requests into samples and answers back; benchmark loading, prompts
and scoring stay in the task YAMLs, and what answers (policy, endpoint, experts, run
directory) is assembled by `session.EvaluationSession` from the settings.
"""

from __future__ import annotations

from typing import Any

from lmms_eval.api.instance import GenerationResult, Instance, TokenCounts
from lmms_eval.api.model import lmms

from skill3d_eval.lmms import exit_status
from skill3d_eval.lmms.sample import identify, sample_from_request
from skill3d_eval.outcome import EXIT_CONFIGURATION, RunAborted
from skill3d_eval.records import Sample
from skill3d_eval.session import EvaluationSession, TaskSplits
from skill3d_eval.settings import Settings, SettingsError


class Skill3D(lmms):
    is_simple = True

    def __init__(self, **model_args: Any) -> None:
        super().__init__()
        try:
            self.session = EvaluationSession(Settings.from_model_args(model_args))
        except SettingsError as exc:
            exit_status.abort(RunAborted(str(exc), EXIT_CONFIGURATION))
        except RunAborted as exc:
            exit_status.abort(exc)

    @property
    def settings(self) -> Settings:
        return self.session.settings

    def generate_until(self, requests: list[Instance]) -> list[GenerationResult]:
        docs = [self.task_dict[req.args[4]][req.args[5]][req.args[3]] for req in requests]
        settings = self.settings
        bounds = settings.media_limits
        identities = [identify(req.args, doc, self.task_dict[req.args[4]][req.args[5]]._fingerprint, bounds) for req, doc in zip(requests, docs)]

        def load(index: int) -> Sample:
            return sample_from_request(requests[index].args, docs[index], num_frames=settings.num_frames, bounds=bounds)

        task_splits = {req.args[4]: TaskSplits(self.task_dict[req.args[4]], evaluated=req.args[5]) for req in requests}
        try:
            trajectories, outcome = self.session.answer(identities, load, task_splits, rank=self.rank)
        except RunAborted as exc:
            exit_status.abort(exc)
        exit_status.record(outcome, self.session.run_dir)
        return [
            GenerationResult(
                text=t.answer,
                token_counts=TokenCounts(
                    input_tokens=sum(turn.prompt_tokens for turn in t.turns),
                    output_tokens=sum(turn.completion_tokens for turn in t.turns),
                ),
            )
            for t in trajectories
        ]

    @property
    def device(self) -> str:
        """Where lmms-eval puts the tensors it gathers across ranks: the agent itself needs no device."""
        return "cpu"

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError("skill3d is a generative agent: it answers generate_until tasks only")

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError("skill3d answers single-round generate_until tasks only")
