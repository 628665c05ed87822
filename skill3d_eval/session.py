"""One evaluation built from `Settings`: the policy, its LLM endpoint, the experts, the run directory.

The lmms-eval adapter (`lmms/model.py`) only turns requests into samples and answers back; what
answers them is assembled here, so the same session can be driven without lmms-eval (tests,
rollouts on a training split) and a newcomer finds "which policy does policy=X build" in one place.
"""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import openai

from skill3d_eval import __version__
from skill3d_eval.agent.baselines import AnswerDataError, ChanceFrequencyPolicy, ChanceRandomPolicy, DirectPolicy, answer_columns
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.agent.rate_limit import RateLimiter
from skill3d_eval.agent.runner import Policy, PolicyByTask, Runner
from skill3d_eval.experts import EXPERT_MODELS, Experts, ExpertsClient, ExpertUnavailable, NoExperts, ReplicaPool, TLSConfig, TritonServer
from skill3d_eval.experts.checkpoints import CheckpointError, assemble_repository, resolve_checkpoints
from skill3d_eval.llm import ChatEndpoint, EndpointUnusable, OpenAIEndpoint
from skill3d_eval.outcome import EXIT_CONFIGURATION, PreflightError, RunAborted, summarize
from skill3d_eval.records import AnswerSource, ExpertsInfo, RunInfo, RunOutcome, Sample, SampleError, SampleIdentity, ServedExpert, Trajectory
from skill3d_eval.settings import Settings, SettingsError
from skill3d_eval.skills.leakage import LeakageError, check_leakage
from skill3d_eval.skills.retrieval import RetrievalWeights
from skill3d_eval.skills.snapshot import FrozenLibrary, SnapshotError
from skill3d_eval.tools import SceneMemoryStore, default_toolset, offered_tools
from skill3d_eval.trajectory_log import RunDirectoryBusy, TrajectoryLog

# Policies that answer from a split's answer distribution, and those that never call a tool
# (no Triton is started or checked for them).
CHANCE = frozenset({"chance_random", "chance_frequency"})
NO_EXPERTS = CHANCE | {"direct"}
# Rows whose media are decoded before the run: when none of them loads, the data is misplaced.
MEDIA_PREFLIGHT_ROWS = 3
# Tasks over spatial_synth, whose frames the oracle backends know; every other task needs real experts.
ORACLE_TASK_PREFIX = "spatial_synth"
# Configuration problems the session can meet; each ends the run with EXIT_CONFIGURATION.
_CONFIGURATION_ERRORS = (SettingsError, SnapshotError, LeakageError, RunDirectoryBusy, AnswerDataError, CheckpointError)


@dataclass(frozen=True)
class TaskSplits:
    """A task's documents as lmms-eval loaded them (`process_docs` applied), and the split under evaluation."""

    splits: Mapping[str, Any]  # split name -> `datasets.Dataset`
    evaluated: str


def answer_sources(task_splits: Mapping[str, TaskSplits]) -> dict[str, AnswerSource]:
    """The split each task's chance baseline learns from: `train` when the task has one, else the
    evaluated split itself (VSI-Bench's paper computes its chance levels so: it has no training split)."""
    sources = {}
    for task, data in task_splits.items():
        split = "train" if "train" in data.splits else data.evaluated
        sources[task] = AnswerSource(split=split, evaluated=split == data.evaluated)
    return sources


class EvaluationSession:
    def __init__(self, settings: Settings):
        self.settings = settings
        with _configuration_errors():
            if settings.triton_url and settings.experts_checkpoints:
                raise SettingsError("experts_checkpoints configures a locally started server; with triton_url that server's own models answer: pass one of them")
            if settings.policy == "skill3d" and settings.library is None:
                raise SettingsError("policy=skill3d retrieves skills: pass library=<frozen snapshot> (skill3d-eval skills freeze)")
            self.library = FrozenLibrary.open(settings.library, RetrievalWeights(top_k=settings.retrieval_top_k)) if settings.library else None
            _check_writable(settings.output_dir)
        self.run_dir: Path | None = None
        self._server: TritonServer | None = None
        self.tool_rendering: str | None = None  # set when the policy's LLM endpoint is made

    def answer(self, samples: Sequence[SampleIdentity], load: Callable[[int], Sample], task_splits: Mapping[str, TaskSplits], *, rank: int = 0) -> tuple[list[Trajectory], RunOutcome]:
        """Every sample answered (or recorded as failed), in order; `load(i)` decodes sample i when it must run.
        `task_splits` holds every task's documents; the chance baselines learn from them.

        Before the first question: the library is checked for leakage, the LLM endpoint and the
        experts answer, the first rows' media load. Any of these failing raises `RunAborted`.
        """
        settings = self.settings
        with _configuration_errors():
            if self.library is not None:
                check_leakage(self.library.skills, samples)
            tasks = {s.task for s in samples}
            sources = answer_sources({task: task_splits[task] for task in tasks}) if settings.policy in CHANCE else {}
            policy = self.policy(tasks, task_splits, sources)
        load = _preflight_media(samples, load)
        with self.experts(needed=settings.policy not in NO_EXPERTS, tasks=tasks) as (experts, experts_info), _configuration_errors():
            fingerprint = settings.fingerprint(library_sha256=self.library.sha256 if self.library else None, experts=experts_info.models or None)
            # Named by what is computed, not when: rerunning the same command finds its own directory and resumes.
            run_id = settings.run_name or f"{settings.policy}-{fingerprint}"
            log = TrajectoryLog(settings.output_dir / run_id)
            self.run_dir = log.run_dir
            self._adopt_server_log(log.run_dir)
            with log.exclusive(f"rank{rank}"):
                run_info = self.run_info(run_id, fingerprint, experts_info, sources)
                log.write_run_info(run_info)
                runner = Runner(
                    policy, experts, log, run_id=run_id, fingerprint=fingerprint, concurrency=settings.concurrency, resume=settings.resume,
                    library_sha256=run_info.library_sha256, interrupt_grace_s=settings.interrupt_grace_s,
                    scene_memory=SceneMemoryStore() if settings.scene_memory else None,  # the run's own: never persisted
                )
                trajectories = runner.run(samples, load)
                outcome = summarize(trajectories, settings.max_failed_fraction)
                log.write_run_info(run_info.model_copy(update={"expert_cache": experts.cache_stats(), "outcome": outcome}))
        return trajectories, outcome

    def policy(self, tasks: set[str], task_splits: Mapping[str, TaskSplits], sources: Mapping[str, AnswerSource]) -> Policy:
        settings = self.settings
        if settings.policy == "program":
            return ProgramPolicy(default_toolset(), self.library)
        if settings.policy in CHANCE:
            return PolicyByTask({task: self._chance_policy(task_splits[task].splits[sources[task].split], sources[task]) for task in tasks})
        endpoint = self.endpoint()
        self.tool_rendering = endpoint.tool_rendering
        try:
            endpoint.check(settings.model)
        except EndpointUnusable as exc:
            raise PreflightError(str(exc)) from None
        limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        if settings.policy == "direct":
            return DirectPolicy(endpoint, settings.model, temperature=settings.temperature, max_tokens=settings.max_tokens, rate_limiter=limiter)
        return LLMPolicy(
            endpoint,
            settings.model,
            offered_tools(settings.tools, views=settings.observation_images),
            max_turns=settings.max_turns,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            rate_limiter=limiter,
            library=None if settings.policy == "tool_agent" else self.library,
            guidance_max_tokens=settings.guidance_max_tokens,
            observation_images=settings.observation_images,
            observation_image_bytes=settings.observation_image_bytes,
        )

    def _chance_policy(self, docs: Any, source: AnswerSource) -> Policy:
        keep = answer_columns(docs.column_names)
        docs = docs.remove_columns([c for c in docs.column_names if c not in keep])  # images are never decoded
        if self.settings.policy == "chance_random":
            return ChanceRandomPolicy(docs, seed=self.settings.seed, leave_one_out=source.evaluated)
        return ChanceFrequencyPolicy(docs, leave_one_out=source.evaluated)

    def endpoint(self) -> ChatEndpoint:
        settings = self.settings
        if settings.llm_backend == "transformers":
            from skill3d_eval.llm.transformers_backend import TransformersEndpoint

            try:
                return TransformersEndpoint(settings.model)
            except (OSError, ValueError) as exc:
                raise SettingsError(f"model={settings.model}: cannot load the checkpoint: {exc}") from exc
        try:
            client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key, timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
        except openai.OpenAIError as exc:
            raise SettingsError(f"policy={settings.policy} needs an endpoint: pass api_key=... (or set OPENAI_API_KEY): {exc}") from exc
        return OpenAIEndpoint(client)

    @contextlib.contextmanager
    def experts(self, *, needed: bool = True, tasks: Iterable[str] = ()) -> Iterator[tuple[Experts, ExpertsInfo]]:
        """The configured Triton endpoint(s), or a local server on the embedded repository for this
        run; every expert model must be ready before the first question."""
        settings = self.settings
        if not needed:
            yield NoExperts(), ExpertsInfo()
            return
        options = self._expert_client_options()
        if settings.triton_url:
            urls = [url.strip() for url in settings.triton_url.split("|") if url.strip()]
            experts = ReplicaPool.from_urls(urls, **options) if len(urls) > 1 else ExpertsClient(urls[0], **options)
            with experts:
                models, served = _ready_models(experts, EXPERT_MODELS, f"triton_url={settings.triton_url}")
                yield experts, ExpertsInfo(triton_url=settings.triton_url, replicas=len(urls), models=models, served=served)
            return
        checkpoints = self._local_checkpoints(tasks)
        oracle_models = [m for m in EXPERT_MODELS if m not in checkpoints]
        if oracle_models and not settings.oracle_root.is_dir():
            raise PreflightError(
                f"no triton_url given and no spatial_synth oracle store at {settings.oracle_root} for {', '.join(oracle_models)}: "
                "run `skill3d-eval synth generate` first, or pass triton_url=HOST:PORT"
            )
        with contextlib.ExitStack() as stack:
            repository = settings.model_repository
            if checkpoints:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="skill3d-repository-")))
                with _configuration_errors():
                    repository = assemble_repository(settings.model_repository, checkpoints, scratch / "repository")
            oracle = {"oracle_root": str(settings.oracle_root.resolve())} if oracle_models else {}
            server = TritonServer(
                repository,
                settings.experts_venv,
                parameters={**(settings.expert_parameters or {}), **oracle},
                log_file=settings.output_dir / f".triton-{os.getpid()}.log",
            )
            try:
                server.start()
            except Exception as exc:
                raise PreflightError(f"the local Triton server did not start: {exc}") from exc
            stack.callback(server.stop)
            self._server = server
            stack.callback(setattr, self, "_server", None)
            url = server.grpc_url if settings.expert_protocol == "grpc" else server.http_url
            client = stack.enter_context(ExpertsClient(url, **options))
            models, served = _ready_models(client, server.models, "the local Triton server")
            yield client, ExpertsInfo(
                triton_url=url, started_locally=True, repository=str(settings.model_repository),
                oracle_root=str(settings.oracle_root) if oracle_models else None, models=models, served=served,
                checkpoints={name: str(path) for name, path in checkpoints.items()},
            )

    def _local_checkpoints(self, tasks: Iterable[str]) -> dict[str, Path]:
        """The real checkpoints a local server serves. The oracle backends know only spatial_synth's
        frames and reject every other frame, so any other task needs a checkpoint for every expert:
        refusing here beats a run whose every tool call fails."""
        settings = self.settings
        with _configuration_errors():
            checkpoints = resolve_checkpoints(settings.experts_checkpoints, EXPERT_MODELS) if settings.experts_checkpoints else {}
        real_tasks = sorted(task for task in tasks if not task.startswith(ORACLE_TASK_PREFIX))
        missing = [m for m in EXPERT_MODELS if m not in checkpoints]
        if real_tasks and missing:
            given = f"experts_checkpoints has none for {', '.join(missing)}" if checkpoints else "no experts_checkpoints"
            raise PreflightError(
                f"task(s) {', '.join(real_tasks)} need real experts, but no triton_url and {given}: the local server's oracle "
                "backends know only spatial_synth's frames. Pass triton_url=HOST:PORT of a Triton serving real checkpoints "
                "(experts_triton/README.md), or experts_checkpoints=DIR with one checkpoint directory per expert "
                f"({', '.join(EXPERT_MODELS)}), or a JSON object {{model: directory or Hugging Face id}}"
            )
        return checkpoints

    def _adopt_server_log(self, run_dir: Path) -> None:
        """The local server's log moves into the run directory once the run's name is known
        (it depends on the served models); the server keeps writing to the same file."""
        server = self._server
        if server is None or server.log_file is None or not server.log_file.exists():
            return
        target = run_dir / "triton.log"
        os.replace(server.log_file, target)
        server.log_file = target

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
            "headers": settings.expert_headers,
            "tls": TLSConfig(*tls_files) if any(tls_files) else None,
            "cache_dir": settings.expert_cache_dir,
        }

    def run_info(self, run_id: str, fingerprint: str, experts: ExpertsInfo, sources: Mapping[str, AnswerSource] | None = None) -> RunInfo:
        settings = self.settings
        return RunInfo(
            run_id=run_id,
            started_at=datetime.now(timezone.utc).isoformat(),
            settings=settings.model_dump(mode="json", exclude={"api_key", "expert_headers"}),  # secrets stay out of run_info
            settings_fingerprint=fingerprint,
            library_sha256=self.library.sha256 if self.library else None,
            experts=experts,
            answer_sources=dict(sources or {}),
            tool_rendering=self.tool_rendering,
            versions={
                "skill3d_eval": __version__,
                "lmms_eval": version("lmms-eval"),
                "openai": version("openai"),
                "tritonclient": version("tritonclient"),
                "python": platform.python_version(),
            },
        )



@contextlib.contextmanager
def _configuration_errors() -> Iterator[None]:
    try:
        yield
    except _CONFIGURATION_ERRORS as exc:
        raise RunAborted(str(exc), EXIT_CONFIGURATION) from exc


def _check_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise SettingsError(f"output_dir={directory} is not writable: {exc.strerror or exc}") from None


def _ready_models(experts: ExpertsClient | ReplicaPool, models: Sequence[str], where: str) -> tuple[dict[str, str], dict[str, ServedExpert]]:
    """Each model's identity digest and what it is (backend, version, checkpoint, parameters)."""
    try:
        return experts.model_identities(models), experts.served_experts(models)
    except ExpertUnavailable as exc:
        raise PreflightError(f"{where}: {exc}") from None


def _preflight_media(samples: Sequence[SampleIdentity], load: Callable[[int], Sample]) -> Callable[[int], Sample]:
    """Decode the first rows now: if none of them loads (a wrong media root, videos not fetched),
    the run stops before asking anything. The decoded samples are handed to the run, not redone."""
    first = list(range(min(MEDIA_PREFLIGHT_ROWS, len(samples))))
    ready: dict[int, Sample] = {}
    errors = []
    for index in first:
        try:
            ready[index] = load(index)
        except SampleError as exc:
            errors.append(str(exc))
    if first and not ready:
        raise PreflightError(f"the media of the first {len(first)} rows cannot be loaded, e.g. {errors[0]}")

    def load_once(index: int) -> Sample:
        sample = ready.pop(index, None)
        return sample if sample is not None else load(index)

    return load_once
