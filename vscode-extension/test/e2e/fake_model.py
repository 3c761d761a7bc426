"""The loopback model server for the end-to-end test: prints its port, then one line per call.

It plays a model through the PlanSearch prompts (tests/support). `area` gets the right code
only from a fixed sketch; every call about `perimeter` answers slowly, so that its search can
be cancelled while it runs. Stops when standard input closes, or after a time limit.

    python fake_model.py API_KEY
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.support.fake_llm import FakeCall, FakeLLMServer, FakeReply  # noqa: E402
from tests.support.plansearch_script import PlanSearchScript, stage_of  # noqa: E402

LIFETIME = 300.0
"""Seconds before the server stops by itself."""
SLOW = 20.0
"""Seconds a `perimeter` call waits before its answer."""
RIGHT = "math.pi * r ** 2"
WRONG = "2 * math.pi * r"


def area_code(call: FakeCall) -> str:
    fixed = "fix reply" in call.messages[-1][1]
    return f"```python\nimport math\n\ndef area(r):\n    return {RIGHT if fixed else WRONG}\n```"


class Responder:
    """Reports every call on stdout, and slows down the ones about `perimeter`."""

    def __init__(self, stopping: threading.Event) -> None:
        self.script = PlanSearchScript("area", first=2, derived=2, code_for=area_code)
        self.stopping = stopping
        self.lock = threading.Lock()

    def __call__(self, call: FakeCall) -> str | FakeReply:
        function = "perimeter" if "perimeter" in call.system else "area"
        with self.lock:
            print(f"call {function} {stage_of(call)}", flush=True)
        if function == "perimeter":
            self.stopping.wait(SLOW)
        return self.script(call)


def main() -> None:
    stopping = threading.Event()
    with FakeLLMServer(Responder(stopping), api_key=sys.argv[1]) as server:
        print(f"port {server.port}", flush=True)
        reader = threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True)
        reader.start()
        stopping.wait(LIFETIME)
        stopping.set()


if __name__ == "__main__":
    main()
