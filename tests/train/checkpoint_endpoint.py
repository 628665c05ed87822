"""A minimal OpenAI-compatible chat endpoint that answers with a checkpoint through transformers.

Stands in for `vllm serve CHECKPOINT` (not installable here for Qwen-VL on CPU): the agent's
`llm` policy talks to it over real HTTP with the `openai` SDK. Generation is the project's
in-process backend (`TransformersEndpoint`), so this file adds only the HTTP around it; replies
are capped at a few tokens to keep the chain test fast.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from skill3d_eval.llm.transformers_backend import TransformersEndpoint

MAX_NEW_TOKENS = 16


class CheckpointEndpoint:
    def __init__(self, checkpoint: Path):
        self.backend = TransformersEndpoint(checkpoint)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(request)
        capped = {**request, "max_tokens": min(MAX_NEW_TOKENS, request.get("max_tokens") or MAX_NEW_TOKENS)}
        return self.backend.complete(capped).model_dump(mode="json", exclude_none=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                payload = json.dumps(outer.complete(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
