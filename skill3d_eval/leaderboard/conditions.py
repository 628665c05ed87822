"""What a run was, in the words of the VSI-Bench paper's table: its group, model, endpoint, experts.

The paper groups its rows as baselines, proprietary (API) models and open-source models; we add
our own systems. The rule, read from `run_info.json` and applied in this order:

1. **baselines**: `chance_random`, `chance_frequency`;
2. **ours**: `program` (skill workflows, no LLM), and `skill3d` / `llm` with a skill library;
3. **open models**: an LLM policy (`llm`, `direct`, `tool_agent`, `skill3d` without a library)
   run in-process (`llm_backend=transformers`) or against an endpoint on this machine or a
   private network (`base_url` host `localhost`, a loopback, private or link-local address,
   or a `.local` / `.internal` name): weights someone holds, e.g. `vllm serve`;
4. **API models**: an LLM policy against any other endpoint, including the OpenAI SDK's
   default (`base_url` not recorded);
5. **unrecorded**: a run without `run_info.json`, whose policy and endpoint are unknown.

A hosted open-weights model (e.g. Qwen behind a public provider) counts as an API model: what the
table can tell apart is who served the answers, not the licence of the weights.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from skill3d_eval.records import RunInfo

Group = Literal["baselines", "API models", "open models", "ours", "unrecorded"]
GROUPS: tuple[Group, ...] = ("baselines", "API models", "open models", "ours", "unrecorded")
CHANCE_POLICIES = frozenset({"chance_random", "chance_frequency"})
LLM_POLICIES = frozenset({"llm", "skill3d", "tool_agent", "direct"})
_LOCAL_SUFFIXES = (".local", ".internal", ".localdomain", ".lan")


def _host(base_url: str) -> tuple[str, int | None]:
    """Host and port of an endpoint URL; a bare 'host:port' (no scheme) is read as one too."""
    parts = urlsplit(base_url if "//" in base_url else f"//{base_url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port


def is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or ("." not in host and ":" not in host):
        return True  # a single-label name resolves on the local network only
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def group_of(run_info: RunInfo | None, policy: str | None, libraries: set[str]) -> Group:
    if run_info is None or policy is None:
        return "baselines" if policy in CHANCE_POLICIES else "unrecorded"
    if policy in CHANCE_POLICIES:
        return "baselines"
    if policy == "program" or (policy in ("skill3d", "llm") and libraries):
        return "ours"
    if run_info.settings.get("llm_backend") == "transformers":
        return "open models"
    base_url = run_info.settings.get("base_url")
    return "open models" if base_url and is_local_host(_host(base_url)[0]) else "API models"


def model_of(run_info: RunInfo | None, policy: str | None) -> str:
    """The LLM that answered; '-' for policies that ask none."""
    if run_info is None:
        return "?"
    if policy not in LLM_POLICIES:
        return "-"
    return str(run_info.settings.get("model") or "?")


def endpoint_of(run_info: RunInfo | None, policy: str | None) -> str:
    """Host[:port] of the LLM endpoint, never its path, query or credentials."""
    if run_info is None:
        return "?"
    if policy not in LLM_POLICIES:
        return "-"
    if run_info.settings.get("llm_backend") == "transformers":
        return "in-process"
    base_url = run_info.settings.get("base_url")
    if not base_url:
        return "SDK default"
    host, port = _host(str(base_url))
    return f"{host}:{port}" if port else host or "?"


def experts_of(run_info: RunInfo | None) -> str:
    """'oracle', or 'oracle; real: depth' (the backends the run's experts were served with)."""
    if run_info is None:
        return "?"
    experts = run_info.experts
    if experts is None or not (experts.served or experts.models):
        return "-"
    if not experts.served:
        return f"{len(experts.models)} served (backends unrecorded)"
    by_backend: dict[str, list[str]] = {}
    for name, served in sorted(experts.served.items()):
        by_backend.setdefault(served.backend or "unnamed", []).append(name)
    if len(by_backend) == 1:
        return next(iter(by_backend))
    # The backend most experts share is the condition; the others are the exceptions to name.
    sizes = sorted((len(names) for names in by_backend.values()), reverse=True)
    common = max(by_backend, key=lambda backend: len(by_backend[backend])) if sizes[0] > sizes[1] else None
    exceptions = [f"{backend}: {', '.join(names)}" for backend, names in sorted(by_backend.items()) if backend != common]
    return "; ".join([common, *exceptions] if common else exceptions)
