"""One settings object for a run, built from `--model_args` (or the CLI) and nothing else.

Environment variables are read only where the ecosystem already uses them: the openai SDK
falls back to OPENAI_API_KEY / OPENAI_BASE_URL when `api_key` / `base_url` are not given.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from skill3d_eval.media.limits import DEFAULT_MAX_FRAME_PIXELS, DEFAULT_MAX_FRAMES, MediaLimits

REPO_ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO_ROOT / "tasks"
SYNTH_ROOT = REPO_ROOT / "data" / "spatial_synth"
MODEL_REPOSITORY = REPO_ROOT / "experts_triton" / "model_repository"
EXPERTS_VENV = REPO_ROOT / ".venv-experts"

# Keys lmms-eval adds to every model's constructor; they mean nothing to an API-driven agent.
LMMS_EVAL_KEYS = {"batch_size", "max_batch_size", "device"}
# Fields that change where things run or are written, not what the run computes.
_NOT_RESULT_AFFECTING = {
    "api_key", "output_dir", "concurrency", "triton_url", "run_name", "resume",
    "requests_per_minute", "tokens_per_minute", "llm_max_retries", "llm_timeout_s", "expert_timeout_s",
    "expert_protocol", "expert_retries", "expert_backoff_s", "expert_breaker_threshold", "expert_breaker_reset_s",
    "expert_headers", "expert_tls_root_certificates", "expert_tls_private_key", "expert_tls_certificate_chain", "expert_cache_dir",
    "max_failed_fraction", "interrupt_grace_s",
    # The library enters the fingerprint by its content hash, not its path (`fingerprint(library_sha256=...)`).
    "library",
}


# Policies whose system prompt lists Scene Memory's facts (`agent.loop`).
_PROMPTED_WITH_SCENE_FACTS = {"llm", "skill3d", "tool_agent"}


class SettingsError(ValueError):
    pass


def _json_object(value: Any) -> Any:
    """lmms-eval passes a JSON `--model_args` value through as a string: parse it at the boundary."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON object: {exc}") from None
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()} if value else None


JsonObject = Annotated[dict[str, str] | None, BeforeValidator(_json_object)]


def _tool_names(value: Any) -> Any:
    """`a|b` (lmms-eval splits `--model_args` on commas) -> ("a", "b"); unknown names are refused here,
    before any work, with the known ones listed."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split("|") if name.strip()]
    if value is None:
        return None
    from skill3d_eval.tools import offered_tools

    offered_tools(list(value))
    return tuple(value)


ToolNames = Annotated[tuple[str, ...] | None, BeforeValidator(_tool_names)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["llm", "skill3d", "tool_agent", "program", "direct", "chance_random", "chance_frequency"] = Field(
        "llm",
        description=(
            "skill3d: LLM + tools + skills (needs library); tool_agent: LLM + tools; llm: skill3d when a library is given, "
            "else tool_agent; program: skill workflows without an LLM; direct: LLM, no tools; chance_*: VSI-Bench chance levels "
            "from the task's training split, or the evaluated split's answers where it has none"
        ),
    )
    seed: int = Field(0, description="seed of the chance_random baseline")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; default: the SDK's (OPENAI_BASE_URL)")
    model: str = Field("gpt-4o", description="model id at the endpoint; with llm_backend=transformers a local checkpoint directory")
    llm_backend: Literal["openai", "transformers"] = Field("openai", description="openai: an OpenAI-compatible endpoint; transformers: in-process")
    api_key: str | None = Field(None, repr=False, description="default: OPENAI_API_KEY")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="sampling temperature of the LLM")
    max_tokens: int = Field(1024, ge=1, description="completion tokens per LLM reply")
    max_turns: int = Field(6, ge=1, le=50, description="LLM turns per question (each may call tools) before an answer is forced")
    llm_timeout_s: float = Field(120.0, gt=0, description="seconds one LLM request may take")
    llm_max_retries: int = Field(4, ge=0, le=20, description="SDK retries on 408/409/429/5xx/connection errors, honouring Retry-After")
    requests_per_minute: float | None = Field(None, gt=0, description="client-side limit on chat requests")
    tokens_per_minute: float | None = Field(None, gt=0, description="client-side limit on prompt+completion tokens")
    triton_url: str | None = Field(
        None,
        description="host:port of a Triton gRPC endpoint, or several replicas as 'host1:port|host2:port'; none: start a local server",
    )
    expert_timeout_s: float = Field(60.0, gt=0, description="seconds one expert (Triton) request may take")
    expert_protocol: Literal["grpc", "http"] = Field("grpc", description="how the experts client talks to triton_url")
    expert_retries: int = Field(2, ge=0, le=10, description="retries of transient expert failures (refused, unavailable, overloaded)")
    expert_backoff_s: float = Field(0.05, ge=0, description="base of the exponential, jittered wait between expert retries (capped at 2 s)")
    expert_breaker_threshold: int = Field(5, ge=1, description="consecutive failures that open a model's circuit")
    expert_breaker_reset_s: float = Field(10.0, gt=0, description="seconds an open circuit waits before letting one trial request through")
    expert_headers: JsonObject = Field(None, repr=False, description='JSON object of extra headers, e.g. {"triton-grpc-protocol-authorization": "Bearer ..."} for Triton --grpc-restricted-protocol (experts_triton/README.md, Team server)')
    expert_tls_root_certificates: Path | None = Field(None, description="PEM file of the CA certificates a TLS Triton endpoint is verified with")
    expert_tls_private_key: Path | None = Field(None, description="PEM file of the client private key (mutual TLS)")
    expert_tls_certificate_chain: Path | None = Field(None, description="PEM file of the client certificate chain (mutual TLS)")
    expert_cache_dir: Path | None = Field(None, description="content-addressed on-disk cache of expert results, shared across runs")
    expert_parameters: JsonObject = Field(None, description='JSON object of model config parameters for a locally started server, e.g. {"depth_scale_error": "0.05"}')
    tools: ToolNames = Field(
        None,
        description=(
            "LLM policies: only these tools are offered, as 'name|name' (default: all), e.g. the ones a compact agent was trained with "
            "(`skill3d-eval train export --tools`), so it is prompted with the schemas it was trained on"
        ),
    )
    concurrency: int = Field(4, ge=1, le=512, description="questions answered at the same time")
    library: Path | None = Field(None, description="frozen skill library snapshot (skill3d-eval skills freeze); default for program: the seed skills")
    retrieval_top_k: int = Field(6, ge=1, le=50, description="skills retrieved per question")
    guidance_max_tokens: int = Field(600, ge=0, description="budget of the skills/lessons text in the LLM's system prompt")
    scene_memory: bool = Field(
        True,
        description=(
            "share expert results and tool observations between the run's questions on one scene (same task, split and frames); "
            "LLM policies also get the scene's established facts in their guidance"
        ),
    )
    observation_images: bool = Field(
        False,
        description=(
            "LLM policies: tools also return visual evidence as images (box/mask overlays, depth colour map, the super-resolved crop) "
            "and the render_view tool is offered; sent in a user message after each turn's tool results. Default: text-only observations"
        ),
    )
    observation_image_bytes: int = Field(
        1_500_000, ge=0, description="with observation_images: encoded bytes of tool images per turn; images beyond it are left out and the model is told so"
    )
    output_dir: Path = Field(Path("runs"), description="where run directories (trajectories.jsonl, run_info.json) are created")
    run_name: str | None = Field(None, description="run directory name; default: policy + settings fingerprint, so a rerun resumes")
    resume: bool = Field(True, description="skip samples this run directory already answered (failed ones are retried)")
    max_failed_fraction: float = Field(
        0.05, ge=0.0, le=1.0, description="a run in which more of its questions end in a recorded error exits non-zero (after writing its results)"
    )
    interrupt_grace_s: float = Field(10.0, ge=0.0, description="after Ctrl-C, how long questions in flight may take to finish and be recorded")
    num_frames: int = Field(32, ge=1, description="frames sampled uniformly from a video visual (VSI-Bench's common default)")
    max_frames: int = Field(DEFAULT_MAX_FRAMES, ge=1, description="a sample with more frames is rejected, not truncated")
    max_frame_pixels: int = Field(DEFAULT_MAX_FRAME_PIXELS, ge=1, description="an image or video frame larger than this is rejected from its header, before decoding")
    experts_checkpoints: str | None = Field(
        None,
        description=(
            "without triton_url: serve these real checkpoints on the local server, a directory with one sub-directory per expert "
            "(depth, detection, segmentation, reconstruction, super_resolution, orientation) or a JSON object {model: directory or "
            "Hugging Face id in the local cache}; needed for every task but spatial_synth, whose other experts stay oracle"
        ),
    )
    experts_venv: Path = Field(EXPERTS_VENV, description="without triton_url: the virtual environment the local Triton's Python backends run in")
    model_repository: Path = Field(MODEL_REPOSITORY, description="without triton_url: the Triton model repository the local server loads")
    oracle_root: Path = Field(SYNTH_ROOT / "oracle", description="without triton_url: spatial_synth's ground-truth store the oracle experts answer from")

    @classmethod
    def from_model_args(cls, args: dict[str, Any]) -> "Settings":
        """Settings from lmms-eval's parsed `--model_args`; unknown keys are an error naming them."""
        values = {k: v for k, v in args.items() if k not in LMMS_EVAL_KEYS and v is not None}
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'model_args'}: {e['msg']}" for e in exc.errors())
            raise SettingsError(f"invalid --model_args for skill3d: {problems}") from None

    @property
    def media_limits(self) -> MediaLimits:
        return MediaLimits(self.max_frames, self.max_frame_pixels)

    def fingerprint(self, *, library_sha256: str | None = None, experts: Any = None) -> str:
        """Hash of every setting that can change answers (not paths for output, keys or parallelism),
        of the library's content and of the experts' identity (models' versions and configs)."""
        # Scene Memory answers a call with what the same call on the same frames returned, so only
        # the LLM policies' prompts (the facts in their guidance) depend on it.
        exclude = _NOT_RESULT_AFFECTING if self.policy in _PROMPTED_WITH_SCENE_FACTS else _NOT_RESULT_AFFECTING | {"scene_memory"}
        relevant = self.model_dump(mode="json", exclude=exclude)
        relevant.update(library_sha256=library_sha256, experts=experts)
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]
