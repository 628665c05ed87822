"""One Triton connection over gRPC (default) or HTTP: tensors out, arrays back, failures classified.

The gRPC client multiplexes every thread over one channel; its reconnect backoff is capped so
a restarted server is found again within a second. tritonclient's HTTP client is not
thread-safe, so each thread keeps its own (pooled, keep-alive) connection.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tritonclient.utils import InferenceServerException

WireProtocol = Literal["grpc", "http"]

_DTYPES = {np.dtype(np.uint8): "UINT8", np.dtype(np.float32): "FP32", np.dtype(np.int32): "INT32", np.dtype(np.bool_): "BOOL"}
# gRPC codes meaning "no answer", as opposed to "the model said no". Triton answers NOT_FOUND for
# a model it has not loaded; the models never use that code themselves.
_TRANSIENT = ("UNAVAILABLE", "RESOURCE_EXHAUSTED")
# Triton answers a request without the header of `--grpc-restricted-protocol` UNAVAILABLE with
# this text: a missing credential, not an overloaded server, so it is not retried.
_RESTRICTED = "This protocol is restricted"
_NO_ANSWER = (*_TRANSIENT, "DEADLINE_EXCEEDED", "CANCELLED", "NOT_FOUND")


@dataclass(frozen=True)
class TLSConfig:
    """TLS towards a shared remote server: PEM files (client certificate only for mutual TLS)."""

    root_certificates: Path | None = None
    private_key: Path | None = None
    certificate_chain: Path | None = None


class TransportFailure(Exception):
    """No answer from the server. `transient`: worth retrying (refused, unavailable, overloaded)."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class ModelFailure(Exception):
    """The server answered with an error for this request (the model rejected it or failed)."""


class Transport:
    def __init__(
        self,
        url: str,
        *,
        protocol: WireProtocol = "grpc",
        timeout_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
        tls: TLSConfig | None = None,
    ):
        if protocol not in ("grpc", "http"):
            raise ValueError(f"protocol must be 'grpc' or 'http', got {protocol!r}")
        self.url = url
        self.protocol = protocol
        self.timeout_s = timeout_s
        self.tls = tls
        # gRPC metadata keys must be lower case; HTTP headers are case-insensitive anyway.
        self.headers = {key.lower(): value for key, value in (headers or {}).items()}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        if protocol == "grpc":
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
        self.module = module

    # -- connections ---------------------------------------------------------------------------
    def client(self) -> Any:
        if self.protocol == "grpc":
            with self._lock:
                if not self._clients:
                    self._clients.append(self._grpc_client())
                return self._clients[0]
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._http_client()
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _grpc_client(self) -> Any:
        tls = self.tls
        channel_args = [
            ("grpc.max_send_message_length", 2**31 - 1),
            ("grpc.max_receive_message_length", 2**31 - 1),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        return self.module.InferenceServerClient(
            self.url,
            ssl=tls is not None,
            root_certificates=str(tls.root_certificates) if tls and tls.root_certificates else None,
            private_key=str(tls.private_key) if tls and tls.private_key else None,
            certificate_chain=str(tls.certificate_chain) if tls and tls.certificate_chain else None,
            channel_args=channel_args,
        )

    def _http_client(self) -> Any:
        tls = self.tls
        ssl_options = {}
        if tls is not None:
            if tls.root_certificates:
                ssl_options["ca_certs"] = str(tls.root_certificates)
            if tls.certificate_chain:
                ssl_options["certfile"] = str(tls.certificate_chain)
            if tls.private_key:
                ssl_options["keyfile"] = str(tls.private_key)
        return self.module.InferenceServerClient(
            self.url,
            connection_timeout=self.timeout_s,
            network_timeout=self.timeout_s,
            ssl=tls is not None,
            ssl_options=ssl_options or None,
        )

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        self._local = threading.local()
        for client in clients:
            client.close()
        # Dropping the last reference runs tritonclient's own __del__ (a second close) now,
        # while grpc is alive; left to interpreter exit it fails noisily.
        del clients

    # -- calls ---------------------------------------------------------------------------------
    def infer(self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str], version: str = "") -> dict[str, np.ndarray]:
        tensors = []
        for name, value in inputs.items():
            datatype = "BYTES" if value.dtype == np.object_ else _DTYPES[value.dtype]
            tensor = self.module.InferInput(name, list(value.shape), datatype)
            tensor.set_data_from_numpy(np.ascontiguousarray(value), **({} if self.protocol == "grpc" else {"binary_data": True}))
            tensors.append(tensor)
        requested = [
            self.module.InferRequestedOutput(name, **({} if self.protocol == "grpc" else {"binary_data": True})) for name in outputs
        ]
        result = self._call(
            lambda client: client.infer(model, tensors, model_version=version, outputs=requested, headers=self.headers or None, **self._timeout())
        )
        # copies: tritonclient hands out read-only views of its response buffer
        return {name: np.array(result.as_numpy(name)) for name in outputs}

    def server_ready(self) -> bool:
        try:
            return bool(self._call(lambda client: client.is_server_ready(headers=self.headers or None, **self._timeout())))
        except (TransportFailure, ModelFailure):
            return False

    def model_identity(self, model: str) -> tuple[str, dict[str, Any]]:
        """(newest ready version, config `parameters`) of a model, as the server reports them."""
        headers = self.headers or None
        if self.protocol == "grpc":
            metadata = self._call(lambda client: client.get_model_metadata(model, headers=headers, as_json=True, **self._timeout()))
            config = self._call(lambda client: client.get_model_config(model, headers=headers, as_json=True, **self._timeout()))["config"]
        else:
            metadata = self._call(lambda client: client.get_model_metadata(model, headers=headers))
            config = self._call(lambda client: client.get_model_config(model, headers=headers))
        versions = sorted(metadata.get("versions", []), key=lambda v: int(v) if str(v).isdigit() else -1)
        return (str(versions[-1]) if versions else ""), dict(config.get("parameters", {}))

    def repository_index(self) -> list[dict[str, Any]]:
        headers = self.headers or None
        if self.protocol == "grpc":
            return self._call(lambda client: client.get_model_repository_index(headers=headers, as_json=True, **self._timeout())).get("models", [])
        return self._call(lambda client: client.get_model_repository_index(headers=headers))

    def _timeout(self) -> dict[str, float]:
        return {"client_timeout": self.timeout_s} if self.protocol == "grpc" else {}

    def _call(self, function: Any) -> Any:
        try:
            return function(self.client())
        except InferenceServerException as error:
            status = str(error.status() or "")
            text = error.message() or str(error)
            if self.protocol == "grpc":
                if _RESTRICTED in text:
                    raise TransportFailure(
                        f"({status}) {text} (the server restricts this protocol group: pass that header in expert_headers)",
                        transient=False,
                    ) from None
                if any(code in status for code in _NO_ANSWER):
                    raise TransportFailure(f"({status}) {text}", transient=any(code in status for code in _TRANSIENT)) from None
            elif status in ("502", "503", "504") or "is not found" in text or "unknown model" in text.lower():
                raise TransportFailure(f"(HTTP {status}) {text}", transient=status in ("502", "503")) from None
            elif status in ("", "None") and not text.strip():
                raise TransportFailure("(no status) empty error", transient=True) from None
            raise ModelFailure(f"({status}) {text}") from None
        except TimeoutError as error:
            raise TransportFailure(f"(timeout) no answer in {self.timeout_s:g} s: {error}", transient=False) from None
        except OSError as error:  # HTTP: refused / reset connections surface as socket errors (the pool reconnects)
            raise TransportFailure(f"({type(error).__name__}) {error}", transient=True) from None
