"""What a running Triton server offers: every model of its repository with version, state and backend kind."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from skill3d_eval.experts.transport import TLSConfig, Transport, TransportFailure, WireProtocol


class ModelStatus(BaseModel):
    name: str
    version: str
    state: str  # READY, UNAVAILABLE, UNLOADING, ... ("" when never loaded)
    ready: bool
    backend: str  # config parameter 'backend' (oracle, real, ...); "" when not loaded
    reason: str = ""


class ServerStatus(BaseModel):
    url: str
    protocol: str
    reachable: bool
    ready: bool
    models: list[ModelStatus]
    error: str = ""

    def table(self) -> str:
        if not self.reachable:
            return f"{self.url} ({self.protocol}): unreachable: {self.error}"
        lines = [f"{self.url} ({self.protocol}): {'ready' if self.ready else 'NOT ready'}", f"{'model':<18}{'version':<9}{'state':<13}{'backend':<9}reason"]
        lines += [f"{m.name:<18}{m.version or '-':<9}{m.state or '-':<13}{m.backend or '-':<9}{m.reason}" for m in self.models]
        return "\n".join(lines)


def server_status(
    url: str,
    *,
    protocol: WireProtocol = "grpc",
    timeout_s: float = 10.0,
    headers: Mapping[str, str] | None = None,
    tls: TLSConfig | None = None,
) -> ServerStatus:
    transport = Transport(url, protocol=protocol, timeout_s=timeout_s, headers=headers, tls=tls)
    try:
        index = transport.repository_index()
        models = []
        for entry in sorted(index, key=lambda e: e.get("name", "")):
            name, state = entry.get("name", ""), entry.get("state", "")
            backend = ""
            if state == "READY":
                _, parameters = transport.model_identity(name)
                backend = str(parameters.get("backend", {}).get("string_value", ""))
            models.append(
                ModelStatus(name=name, version=str(entry.get("version", "")), state=state, ready=state == "READY", backend=backend, reason=entry.get("reason", ""))
            )
        return ServerStatus(url=url, protocol=protocol, reachable=True, ready=transport.server_ready(), models=models)
    except TransportFailure as error:
        return ServerStatus(url=url, protocol=protocol, reachable=False, ready=False, models=[], error=str(error))
    finally:
        transport.close()
