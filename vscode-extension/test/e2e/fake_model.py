"""The loopback model server for the end-to-end test: prints its port, then one line per call.

It plays a model through the PlanSearch prompts (tests/support). `area` gets the right code
only from a fixed sketch. The code of `diameter` comes one candidate every few seconds, so that
candidates stream into the picker; every call about `perimeter` answers slowly, so that its
search can be cancelled while it runs. Stops when standard input closes, or after a time limit.

    python fake_model.py API_KEY
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.support.fake_llm import FakeCall, FakeLLMServer, FakeReply
from tests.support.plansearch_script import PlanSearchScript, stage_of

LIFETIME = 300.0
"""Seconds before the server stops by itself."""
SLOW = 20.0
"""Seconds a `perimeter` call waits before its answer."""
STAGGER = 3.0
"""Seconds between two `diameter` candidates."""
RIGHT = "math.pi * r ** 2"
WRONG = "2 * math.pi * r"


def area_code(call: FakeCall) -> str:
    fixed = "fix reply" in call.messages[-1][1]
    return f"```python\nimport math\n\ndef area(r):\n    return {RIGHT if fixed else WRONG}\n```"


def diameter_code() -> str:
    return "```python\ndef diameter(r):\n    return 2 * r\n```"


class Responder:
    """Reports every call on stdout, and slows down the ones about `perimeter`."""

    def __init__(self, stopping: threading.Event) -> None:
        self.script = PlanSearchScript("area", first=2, derived=2, code_for=area_code)
        self.stopping = stopping
        self.lock = threading.Lock()
        self.diameter_codes = 0

    def __call__(self, call: FakeCall) -> str | FakeReply:
        function = next((name for name in ("perimeter", "diameter") if name in call.system), "area")
        stage = stage_of(call)
        with self.lock:
            print(f"call {function} {stage}", flush=True)
            order = self.diameter_codes
            if function == "diameter" and stage == "code":
                self.diameter_codes += 1
        if function == "perimeter":
            self.stopping.wait(SLOW)
        elif function == "diameter" and stage == "code":
            self.stopping.wait(1.0 + STAGGER * order)
            return diameter_code()
        return self.script(call)


def main() -> None:
    stopping = threading.Event()
    with FakeLLMServer(Responder(stopping), api_key=sys.argv[1]) as server:
        print(f"port {server.port}", flush=True)

        def wait_for_stdin_to_close() -> None:
            sys.stdin.read()
            stopping.set()

        threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
        stopping.wait(LIFETIME)
        stopping.set()


if __name__ == "__main__":
    main()
