"""A real OpenAI-compatible HTTP endpoint whose replies come from a test's script.

The agent talks to it through the `openai` SDK over HTTP exactly as it talks to vLLM or
OpenAI; the script decides each reply from the conversation so far, and every request is
kept for assertions. A reply may also be a transport fault: an HTTP status with headers, a
raw (broken) body, a delay, or a connection reset.
"""

from __future__ import annotations

import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any]
Script = Callable[[list[dict[str, Any]]], Reply]


def tool_call(name: str, arguments: dict[str, Any] | str) -> Reply:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"tool_calls": [{"name": name, "arguments": args}]}


def answer(text: str) -> Reply:
    return {"content": text}


def http_error(status: int, headers: dict[str, str] | None = None) -> Reply:
    return {"status": status, "headers": headers or {}}


def raw_body(body: bytes) -> Reply:
    return {"body": body}


def delayed(reply: Reply, seconds: float) -> Reply:
    return {**reply, "delay": seconds}


RESET: Reply = {"reset": True}


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a burst of concurrent clients overflows it and their
    # connections stall or fail. Real endpoints listen with a backlog of hundreds or more.
    request_queue_size = 1024


class ScriptedLLM:
    """`models`: what `GET /v1/models` lists (the harness's pre-flight checks its model is served)."""

    def __init__(self, script: Script, models: tuple[str, ...] = ("scripted",)):
        self.script = script
        self.models = models
        self.requests: list[dict[str, Any]] = []
        # The endpoint's own time (read, parse, script, reply; scripted delays excluded), so a
        # benchmark can tell the harness's time from the fake LLM's.
        self.handling_seconds = 0.0
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedLLM":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, request: dict[str, Any]) -> tuple[Reply, int]:
        with self._lock:
            self.requests.append(request)
            number = next(self._ids)
        return self.script(request["messages"]), number

    @staticmethod
    def completion(request: dict[str, Any], reply: Reply, number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        calls = reply.get("tool_calls") or []
        if calls:
            message["tool_calls"] = [
                {"id": f"call_{number}_{i}", "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for i, c in enumerate(calls)
            ]
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": 0,
            "model": request.get("model", "scripted"),
            "choices": reply.get("choices", [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}]),
            "usage": reply.get("usage", {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real endpoints (vLLM, OpenAI) do: clients reuse their connections.
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: without TCP_NODELAY, Nagle's algorithm holds
            # the body back until the client's delayed ACK (~40 ms) on a reused connection.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if not self.path.endswith("/models"):
                    self.send_error(404)
                    return
                payload = json.dumps({"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in outer.models]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                # Counted from the received body on: waiting for the client's bytes is the client's time.
                started, self.slept = time.perf_counter(), 0.0
                try:
                    self._respond(json.loads(raw))
                finally:
                    with outer._lock:
                        outer.handling_seconds += time.perf_counter() - started - self.slept

            def _respond(self, body: dict[str, Any]) -> None:
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                reply, number = outer._reply(body)
                self.slept = reply.get("delay", 0)
                time.sleep(self.slept)
                if reply.get("reset"):
                    # SO_LINGER 0: close() sends a TCP RST instead of an orderly FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                status = reply.get("status", 200)
                if "body" in reply:
                    payload = reply["body"]
                elif status == 200:
                    payload = json.dumps(outer.completion(body, reply, number)).encode()
                else:
                    payload = json.dumps({"error": {"message": f"scripted {status}", "type": "scripted"}}).encode()
                try:
                    self.send_response(status)
                    for name, value in reply.get("headers", {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timeout) before the scripted delay ended

            def log_message(self, *args: object) -> None:
                pass

        return Handler
