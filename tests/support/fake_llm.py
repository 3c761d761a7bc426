"""A loopback HTTP server that speaks the Anthropic Messages and OpenAI chat-completions formats.

Tests drive the real SDKs against it. It answers through a `responder`, waits a fixed
`latency`, records every request, and injects faults either from a script (`inject`) or at
a seeded random rate (drawn in order of arrival, or with `stable_faults` from each request's
body, so the same calls fail whatever order they arrive in). It listens on 127.0.0.1 only,
never logs, and never echoes a key.

It can also play a local server (`Local`): a context window that refuses, with a 400, a
prompt plus `max_tokens` that exceed it (prompt tokens are words, as in its usage counts);
a number of slots answering at once, the other requests waiting their turn; a most
requests held at once, beyond which it answers 429 at once; and the routes where llama.cpp,
vLLM and Ollama say what they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Api = Literal["anthropic", "openai"]
Family = Literal["llama.cpp", "vllm", "ollama", "other"]

_ROUTES: dict[str, Api] = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai"}
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


class Fault(StrEnum):
    """A way a request can go wrong."""

    RATE_LIMIT = "rate_limit"  # 429 with retry-after
    OVERLOADED = "overloaded"  # 529 (Anthropic) / 503 (OpenAI)
    SERVER_ERROR = "server_error"  # 500
    HANG = "hang"  # no answer until `hang_seconds` pass (or the server stops), then close
    TRUNCATED = "truncated"  # 200 whose body is cut short of its Content-Length, then close
    EMPTY = "empty"  # 200 with no content
    MALFORMED = "malformed"  # 200 whose body is not JSON
    AUTH = "auth"  # 401
    NOT_FOUND = "not_found"  # 404: model not found
    QUOTA = "quota"  # out of credit: Anthropic 400 "credit balance", OpenAI 429 insufficient_quota


@dataclass(frozen=True)
class FakeCall:
    """One request as the server saw it. Secret header values are replaced by "<redacted>";
    `authorized` says whether they carried the server's `api_key` (always True without one)."""

    api: Api
    model: str
    system: str
    messages: list[tuple[str, str]]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    headers: dict[str, str]
    body: dict[str, Any]
    fault: Fault | None = None
    authorized: bool = True


@dataclass(frozen=True)
class FakeReply:
    """What to answer. `stop_reason` is the wire value (default "end_turn" / "stop");
    token counts default to word counts."""

    text: str
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


Responder = Callable[[FakeCall], "str | FakeReply"]


@dataclass(frozen=True)
class Local:
    """How the server plays a local one. `family` picks the routes that describe it (llama.cpp:
    `/props` and `/v1/models` meta; vLLM: `max_model_len` in `/v1/models`; Ollama: `/api/show`;
    other: none) and how a context overflow is worded."""

    family: Family = "llama.cpp"
    context_window: int | None = None
    slots: int | None = None
    """Requests answered at once; the others wait their turn (None: all at once)."""
    max_held: int | None = None
    """Requests held at once (answered or waiting); beyond, 429 at once (None: no limit)."""
    busy_retry_after: float | None = None
    """The `retry-after` of that 429 (None: no header)."""
    trained_window: int = 32768
    """What `/v1/models` meta (llama.cpp) and `model_info` (Ollama) report."""


def echo_responder(call: FakeCall) -> str:
    """The default answer: names the model and repeats the last message."""
    last = call.messages[-1][1] if call.messages else ""
    return f"{call.model} says: {last}"


@dataclass
class _Script:
    fault: Fault
    retry_after: float


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[FakeCall] = field(default_factory=list)
    requests: int = 0
    in_flight: int = 0
    script: deque[_Script] = field(default_factory=deque)
    seen: dict[str, int] = field(default_factory=dict)
    connections: set[socket.socket] = field(default_factory=set)
    held: int = 0
    peak_held: int = 0
    busy_refusals: int = 0
    context_refusals: int = 0
    probes: list[str] = field(default_factory=list)


class FakeLLMServer:
    """The server. Use as a context manager, or call `start()` and `stop()`.

    With `stable_faults`, whether a request fails (and how) is drawn from `seed`, a digest of
    its body and how many times that body came before, not from the order of arrival: a
    search whose requests race each other meets the same faults on every run.
    """

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        latency: float = 0.0,
        api_key: str | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[Fault] = (Fault.RATE_LIMIT, Fault.OVERLOADED, Fault.SERVER_ERROR),
        seed: int = 0,
        retry_after: float = 0.05,
        hang_seconds: float = 5.0,
        stable_faults: bool = False,
        local: Local | None = None,
    ) -> None:
        self.responder = responder
        self.local = local
        self._slots = threading.BoundedSemaphore(local.slots) if local and local.slots else None
        self.latency = latency
        self.api_key = api_key
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.stable_faults = stable_faults
        self._seed = seed
        self._rng = random.Random(seed)
        self._state = _State()
        self._stopping = threading.Event()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url_anthropic(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_openai(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections; returns within about a second."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        with self._state.lock:
            connections = list(self._state.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=1.0)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults and records ----------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1, retry_after: float | None = None) -> None:
        """Serve `fault` to the next `times` requests (after any already scripted)."""
        wait = self.retry_after if retry_after is None else retry_after
        with self._state.lock:
            self._state.script.extend(_Script(fault, wait) for _ in range(times))

    @property
    def calls(self) -> list[FakeCall]:
        """Every request recorded so far (a copy)."""
        with self._state.lock:
            return list(self._state.calls)

    @property
    def request_count(self) -> int:
        """HTTP requests received, including ones answered with a fault."""
        with self._state.lock:
            return self._state.requests

    @property
    def in_flight(self) -> int:
        """Requests being handled now: received, not yet answered (or dropped)."""
        with self._state.lock:
            return self._state.in_flight

    @property
    def peak_held(self) -> int:
        """The most completion requests held at once (not counting ones refused as busy)."""
        with self._state.lock:
            return self._state.peak_held

    @property
    def busy_refusals(self) -> int:
        """Requests answered 429 because `Local.max_held` were held."""
        with self._state.lock:
            return self._state.busy_refusals

    @property
    def context_refusals(self) -> int:
        """Requests refused because the prompt and max_tokens exceed the context window."""
        with self._state.lock:
            return self._state.context_refusals

    @property
    def probes(self) -> list[str]:
        """The paths of the requests asking what the server is, in order."""
        with self._state.lock:
            return list(self._state.probes)

    def _hold(self) -> Callable[[], None] | None:
        """Take a place among the requests held (None when `Local.max_held` are), then a
        slot; return what gives both back (once, however often it is called)."""
        with self._state.lock:
            local = self.local
            if local and local.max_held is not None and self._state.held >= local.max_held:
                self._state.busy_refusals += 1
                return None
            self._state.held += 1
            self._state.peak_held = max(self._state.peak_held, self._state.held)
        if self._slots is not None:
            self._slots.acquire()
        released = threading.Event()

        def release() -> None:
            with self._state.lock:
                if released.is_set():
                    return
                released.set()
                self._state.held -= 1
            if self._slots is not None:
                self._slots.release()

        return release

    def _overflow(self, call: FakeCall) -> tuple[int, dict[str, Any]] | None:
        """The 400 for a prompt plus max_tokens that exceed the context window, if they do."""
        window = self.local.context_window if self.local else None
        if window is None or self.local is None:
            return None
        prompt = _prompt_words(call)
        asked = prompt + (call.max_tokens or 0)
        if asked <= window:
            return None
        with self._state.lock:
            self._state.context_refusals += 1
        if call.api == "anthropic":
            message = (f"input length and `max_tokens` exceed context limit: {prompt} + "
                       f"{call.max_tokens} > {window}, decrease input length or `max_tokens` "
                       "and try again")
            return 400, _error_body("anthropic", 400, "invalid_request_error", message)
        message = (f"This model's maximum context length is {window} tokens. However, you "
                   f"requested {asked} tokens ({prompt} in the messages, {call.max_tokens} in "
                   "the completion). Please reduce the length of the messages or completion.")
        return 400, _error_body("openai", 400, "invalid_request_error", message)

    def _describe(self, path: str) -> dict[str, Any] | None:
        """What the server says of itself at `path` (None: 404)."""
        local = self.local
        with self._state.lock:
            self._state.probes.append(path)
        family = local.family if local else "other"
        window = local.context_window if local else None
        if path == "/v1/models":
            entry: dict[str, Any] = {"id": "local-model", "object": "model", "created": 0,
                                     "owned_by": family}
            if family == "llama.cpp" and local:
                entry["meta"] = {"n_ctx_train": local.trained_window, "n_vocab": 262144}
            if family == "vllm" and window:
                entry["max_model_len"] = window
            return {"object": "list", "data": [entry]}
        if path == "/props" and family == "llama.cpp" and local:
            return {"default_generation_settings": {"n_ctx": window, "params": {}},
                    "total_slots": local.slots or 1, "model_path": "local-model.gguf"}
        if path == "/api/show" and family == "ollama" and local:
            return {"model_info": {"general.architecture": "gemma3",
                                   "gemma3.context_length": window or local.trained_window},
                    "parameters": "stop <end_of_turn>", "details": {"family": "gemma3"}}
        return None

    def _next_fault(self, body: bytes) -> _Script | None:
        with self._state.lock:
            self._state.requests += 1
            if self._state.script:
                return self._state.script.popleft()
            rng = self._rng
            if self.stable_faults:
                digest = hashlib.sha256(body).hexdigest()
                seen = self._state.seen.get(digest, 0)
                self._state.seen[digest] = seen + 1
                rng = random.Random(f"{self._seed}:{digest}:{seen}")
            if self.fault_kinds and rng.random() < self.fault_rate:
                return _Script(rng.choice(self.fault_kinds), self.retry_after)
            return None

    def _record(self, call: FakeCall) -> None:
        with self._state.lock:
            self._state.calls.append(call)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, owner: FakeLLMServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (e.g. after its timeout) is expected; anything else is not."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30.0
    server: _Server
    _release: Callable[[], None]
    """Gives back the request's place and slot (see `FakeLLMServer._hold`)."""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle adds ~40 ms a reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.owner._state.lock:
            self.server.owner._state.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._state.lock:
            self.server.owner._state.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Never log: a request line or header could carry a key."""

    def do_GET(self) -> None:
        self._release = _nothing
        self._answer_probe()

    def do_POST(self) -> None:
        state = self.server.owner._state
        with state.lock:
            state.in_flight += 1
        try:
            self._post()
        finally:
            with state.lock:
                state.in_flight -= 1

    def _post(self) -> None:
        owner = self.server.owner
        self._release = _nothing
        path = self.path.split("?")[0]
        api = _ROUTES.get(path)
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if api is None:
            self._answer_probe()
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, _error_body(api, 400, "invalid_request_error", "body is not JSON"))
            return
        script = owner._next_fault(raw)
        authorized = self._authorized(api)
        call = _parse_call(api, body, self.headers.items(), script.fault if script else None,
                           authorized)
        owner._record(call)
        overflow = owner._overflow(call)
        if overflow is not None:
            self._json(*overflow)
            return
        release = owner._hold()
        if release is None:
            wait = owner.local.busy_retry_after if owner.local else None
            headers = {} if wait is None else {"retry-after": f"{wait:g}"}
            self._json(429, _error_body(api, 429, "rate_limit_error", "all slots are busy"),
                       headers)
            return
        self._release = release
        try:
            self._answer(owner, api, body, call, script, authorized)
        finally:
            release()

    def _answer_probe(self) -> None:
        described = self.server.owner._describe(self.path.split("?")[0])
        if described is None:
            self._json(404, {"error": {"type": "not_found_error", "message": "no such path"}})
        else:
            self._json(200, described)

    def _answer(
        self, owner: FakeLLMServer, api: Api, body: dict[str, Any], call: FakeCall,
        script: _Script | None, authorized: bool,
    ) -> None:
        if owner.latency and owner._stopping.wait(owner.latency):
            self.close_connection = True
            return
        if not authorized:
            self._fault(call, _Script(Fault.AUTH, 0.0))
        elif script is not None:
            self._fault(call, script)
        elif api == "anthropic" and {"temperature", "top_p", "top_k"} & body.keys():
            message = "temperature, top_p and top_k are not supported on this API version"
            self._json(400, _error_body(api, 400, "invalid_request_error", message))
        else:
            try:
                answer = owner.responder(call)
            except Exception as exc:  # a test's responder is broken: say so in the reply
                self._json(500, _error_body(api, 500, "api_error", f"responder failed: {exc!r}"))
                return
            reply = FakeReply(answer) if isinstance(answer, str) else answer
            self._json(200, _success_body(call, reply))

    def _authorized(self, api: Api) -> bool:
        key = self.server.owner.api_key
        if key is None:
            return True
        if self.headers.get("Authorization") == f"Bearer {key}":
            return True
        return api == "anthropic" and self.headers.get("x-api-key") == key

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._release()  # before the reply goes out: the client may send its next at once
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, call: FakeCall, script: _Script) -> None:
        api, fault = call.api, script.fault
        if fault is Fault.HANG:
            self.server.owner._stopping.wait(self.server.owner.hang_seconds)
            self.close_connection = True
        elif fault is Fault.TRUNCATED:
            data = json.dumps(_success_body(call, FakeReply("this reply is cut off"))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif fault is Fault.MALFORMED:
            data = b'{"id": "msg_1", "content": [{"type": "text", "te'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif fault is Fault.EMPTY:
            body = _success_body(call, FakeReply("", output_tokens=0))
            if api == "anthropic":
                body["content"] = []
            else:
                body["choices"][0]["message"]["content"] = None
            self._json(200, body)
        elif fault is Fault.RATE_LIMIT:
            headers = {"retry-after": f"{script.retry_after:g}"}
            if api == "openai":
                headers["retry-after-ms"] = f"{script.retry_after * 1000:g}"
            self._json(429, _error_body(api, 429, "rate_limit_error", "rate limited"), headers)
        else:
            status, kind, message = _ERRORS[api, fault]
            self._json(status, _error_body(api, status, kind, message.format(model=call.model)))


_ERRORS: dict[tuple[Api, Fault], tuple[int, str, str]] = {
    ("anthropic", Fault.OVERLOADED): (529, "overloaded_error", "Overloaded"),
    ("openai", Fault.OVERLOADED): (503, "server_overloaded", "The server is overloaded"),
    ("anthropic", Fault.SERVER_ERROR): (500, "api_error", "Internal server error"),
    ("openai", Fault.SERVER_ERROR): (500, "server_error", "Internal server error"),
    ("anthropic", Fault.AUTH): (401, "authentication_error", "invalid x-api-key"),
    ("openai", Fault.AUTH): (401, "invalid_api_key", "Incorrect API key provided"),
    ("anthropic", Fault.NOT_FOUND): (404, "not_found_error", "model: {model}"),
    ("openai", Fault.NOT_FOUND): (404, "model_not_found", "The model `{model}` does not exist"),
    ("anthropic", Fault.QUOTA): (
        400,
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    ),
    ("openai", Fault.QUOTA): (429, "insufficient_quota", "You exceeded your current quota"),
}


def _nothing() -> None:
    """Nothing to give back."""


def _error_body(api: Api, status: int, kind: str, message: str) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": kind, "param": None}}


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _parse_call(
    api: Api, body: dict[str, Any], headers: Iterable[tuple[str, str]], fault: Fault | None,
    authorized: bool,
) -> FakeCall:
    turns = [(str(m.get("role")), _text(m.get("content"))) for m in body.get("messages", [])]
    if api == "anthropic":
        system = _text(body.get("system", ""))
    else:
        system = "".join(text for role, text in turns if role == "system")
        turns = [turn for turn in turns if turn[0] != "system"]
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    return FakeCall(
        api=api,
        model=str(body.get("model", "")),
        system=system,
        messages=turns,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        temperature=_number(body.get("temperature")),
        top_p=_number(body.get("top_p")),
        headers={
            name.lower(): "<redacted>" if name.lower() in _SECRET_HEADERS else value
            for name, value in headers
        },
        body=body,
        fault=fault,
        authorized=authorized,
    )


def _prompt_words(call: FakeCall) -> int:
    return len(call.system.split()) + sum(len(text.split()) for _, text in call.messages)


def _success_body(call: FakeCall, reply: FakeReply) -> dict[str, Any]:
    words_in = _prompt_words(call)
    input_tokens = words_in if reply.input_tokens is None else reply.input_tokens
    output_tokens = len(reply.text.split()) if reply.output_tokens is None else reply.output_tokens
    if call.api == "anthropic":
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": reply.stop_reason or "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_read_input_tokens": reply.cache_read_input_tokens,
                "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            },
        }
    prompt_tokens = input_tokens + reply.cache_read_input_tokens
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.stop_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": prompt_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": reply.cache_read_input_tokens},
        },
    }
