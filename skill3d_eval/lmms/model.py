"""The lmms-eval model `skill3d`: each generate request is answered by the agent.

This adapter only turns requests into samples and answers back; benchmark loading, prompts
and scoring stay in the task YAMLs, the agent and tools in `agent/` and `tools/`.
"""

from __future__ import annotations

import contextlib
import json
import platform
from datetime import datetime, timezone
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import openai
from lmms_eval.api.instance import GenerationResult, Instance, TokenCounts
from lmms_eval.api.model import lmms

from skill3d_eval import __version__
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.agent.rate_limit import RateLimiter
from skill3d_eval.records import Sample
from skill3d_eval.agent.baselines import ChanceFrequencyPolicy, ChanceRandomPolicy, DirectPolicy
from skill3d_eval.agent.runner import Policy, PolicyByTask, Runner
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.replicas import ReplicaPool
from skill3d_eval.experts.transport import TLSConfig
from skill3d_eval.experts.server import TritonServer
from skill3d_eval.llm import ChatEndpoint, OpenAIEndpoint
from skill3d_eval.lmms.sample import identify, sample_from_request
from skill3d_eval.skills.leakage import check_leakage
from skill3d_eval.skills.retrieval import RetrievalWeights
from skill3d_eval.skills.snapshot import FrozenLibrary
from skill3d_eval.settings import Settings, SettingsError
from skill3d_eval.tools import default_toolset


class Skill3D(lmms):
    is_simple = True

    def __init__(self, **model_args: Any) -> None:
        super().__init__()
        self.settings = Settings.from_model_args(model_args)
        if self.settings.library is not None and not self.settings.library.is_file():
            raise SettingsError(f"library={self.settings.library}: no such file")
        self.library = FrozenLibrary.open(self.settings.library, RetrievalWeights(top_k=self.settings.retrieval_top_k)) if self.settings.library else None
        if self.settings.policy == "skill3d" and self.library is None:
            raise SettingsError("policy=skill3d retrieves skills: pass library=<frozen snapshot> (skill3d-eval skills freeze)")
        # Named by what is computed, not when: rerunning the same command finds its own directory and resumes.
        self.run_id = self.settings.run_name or f"{self.settings.policy}-{self.settings.fingerprint()}"
        self.log = TrajectoryLog(self.settings.output_dir / self.run_id)

    def generate_until(self, requests: list[Instance]) -> list[GenerationResult]:
        docs = [self.task_dict[req.args[4]][req.args[5]][req.args[3]] for req in requests]
        identities = [identify(req.args, doc) for req, doc in zip(requests, docs)]
        if self.library is not None:
            check_leakage(self.library.skills, identities)
        keys = [(identity.task, identity.doc_id, identity.sample_id) for identity in identities]

        def load(index: int) -> Sample:
            sample = sample_from_request(requests[index].args, docs[index], num_frames=self.settings.num_frames)
            sample.check_bounds(self.settings.max_frames, self.settings.max_frame_pixels)
            return sample

        with self._experts() as (client, experts_info):
            run_info = self._run_info(experts_info)
            self.log.write_run_info(run_info)
            runner = Runner(
                self._policy({task for task, _, _ in keys}),
                client,
                self.log,
                run_id=self.run_id,
                fingerprint=self.settings.fingerprint(),
                concurrency=self.settings.concurrency,
                resume=self.settings.resume,
            )
            trajectories = runner.run(keys, load)
            if self.settings.expert_cache_dir is not None:
                clients = client.clients if isinstance(client, ReplicaPool) else [client]
                hits = sum(c.stats.cache_hits for c in clients)
                self.log.write_run_info({**run_info, "expert_cache": {"hits": hits, "misses": sum(c.stats.server_calls for c in clients)}})
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

    def _policy(self, tasks: set[str]) -> Policy:
        settings = self.settings
        if settings.policy == "program":
            return ProgramPolicy(default_toolset(), self.library)
        if settings.policy in ("chance_random", "chance_frequency"):
            return PolicyByTask({task: self._chance_policy(task) for task in tasks})
        endpoint = self._endpoint()
        limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        if settings.policy == "direct":
            return DirectPolicy(endpoint, settings.model, temperature=settings.temperature, max_tokens=settings.max_tokens, rate_limiter=limiter)
        return LLMPolicy(
            endpoint,
            settings.model,
            default_toolset(),
            max_turns=settings.max_turns,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            rate_limiter=limiter,
            library=None if settings.policy == "tool_agent" else self.library,
            guidance_max_tokens=settings.guidance_max_tokens,
        )

    def _chance_policy(self, task: str) -> Policy:
        splits = self.task_dict.get(task, {})
        if "train" not in splits:
            raise SettingsError(f"policy={self.settings.policy} answers from the training split, and task {task!r} has none")
        train = splits["train"].remove_columns([c for c in splits["train"].column_names if c not in ("question_type", "ground_truth", "options")])
        if self.settings.policy == "chance_random":
            return ChanceRandomPolicy(train, seed=self.settings.seed)
        return ChanceFrequencyPolicy(train)

    def _endpoint(self) -> ChatEndpoint:
        settings = self.settings
        if settings.llm_backend == "transformers":
            from skill3d_eval.llm.transformers_backend import TransformersEndpoint

            return TransformersEndpoint(settings.model)
        try:
            client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key, timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
        except openai.OpenAIError as exc:
            raise SettingsError(f"policy={settings.policy} needs an endpoint: pass api_key=... (or set OPENAI_API_KEY): {exc}") from exc
        return OpenAIEndpoint(client)

    @contextlib.contextmanager
    def _experts(self) -> Iterator[tuple[ExpertsClient | ReplicaPool, dict[str, Any]]]:
        """The configured Triton endpoint, or a local server on the embedded repository for this run."""
        settings = self.settings
        client_options = self._expert_client_options()
        if settings.triton_url:
            urls = [url.strip() for url in settings.triton_url.split("|") if url.strip()]
            experts = ReplicaPool.from_urls(urls, **client_options) if len(urls) > 1 else ExpertsClient(urls[0], **client_options)
            with experts:
                yield experts, {"triton_url": settings.triton_url, "replicas": len(urls), "started_locally": False}
            return
        if not settings.oracle_root.is_dir():
            raise SettingsError(
                f"no triton_url given and no spatial_synth oracle store at {settings.oracle_root}: "
                "run `skill3d-eval synth generate` first, or pass triton_url=HOST:PORT"
            )
        server = TritonServer(
            settings.model_repository,
            settings.experts_venv,
            parameters={**_json_object(settings.expert_parameters, "expert_parameters"), "oracle_root": str(settings.oracle_root.resolve())},
            log_file=self.log.run_dir / "triton.log",
        )
        with server:
            url = server.grpc_url if settings.expert_protocol == "grpc" else server.http_url
            with ExpertsClient(url, **client_options) as client:
                yield client, {"triton_url": url, "started_locally": True, "repository": str(settings.model_repository), "oracle_root": str(settings.oracle_root)}

    def _expert_client_options(self) -> dict[str, Any]:
        settings = self.settings
        tls_files = (settings.expert_tls_root_certificates, settings.expert_tls_private_key, settings.expert_tls_certificate_chain)
        return {
            "timeout_s": settings.expert_timeout_s,
            "protocol": settings.expert_protocol,
            "retries": settings.expert_retries,
            "backoff_s": settings.expert_backoff_s,
            "breaker_threshold": settings.expert_breaker_threshold,
            "breaker_reset_s": settings.expert_breaker_reset_s,
            "headers": _json_object(settings.expert_headers, "expert_headers") or None,
            "tls": TLSConfig(*tls_files) if any(tls_files) else None,
            "cache_dir": settings.expert_cache_dir,
        }

    def _run_info(self, experts_info: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings
        return {
            "run_id": self.run_id,
            "started_at": datetime.now(timezone.utc).isoformat(),
            "settings": settings.model_dump(mode="json", exclude={"api_key"}),
            "settings_fingerprint": settings.fingerprint(),
            "library_sha256": self.library.sha256 if self.library else None,
            "experts": experts_info,
            "versions": {
                "skill3d_eval": __version__,
                "lmms_eval": version("lmms-eval"),
                "openai": version("openai"),
                "tritonclient": version("tritonclient"),
                "python": platform.python_version(),
            },
        }


def _json_object(text: str | None, name: str) -> dict[str, str]:
    """A JSON-object model argument (lmms-eval passes JSON through as a string)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}
