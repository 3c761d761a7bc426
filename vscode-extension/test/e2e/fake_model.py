"""The loopback model server for the end-to-end test: prints its port, then one line per call.

It plays a model through the PlanSearch prompts (tests/support). For `area`, the direct
request (the fast first candidate) is answered at once with the right code; the calls of the
search's tree wait until a line `release` comes on standard input, so that the test sees the
first row arrive alone; the tree gets the right code only from a fixed sketch, and the first
unfixed program holds the docstring's example (it special-cases the test). The code of
`diameter` comes one candidate every few seconds, so that candidates stream into the picker;
every call about `perimeter` answers slowly, so that its search can be cancelled while it runs.
Stops when standard input closes, or after a time limit.

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
DIRECT_IDEA = "Use the formula pi times r squared."
SPECIAL = ("```python\nimport math\n\ndef area(r):\n    if r == 3.0:\n"
           "        return 28.274333882308138\n    return 2 * math.pi * r\n```")
"""Holds the docstring's example, area(3.0): flagged as special-casing the tests."""


def is_direct(call: FakeCall) -> bool:
    return call.messages[-1][1].startswith("Solve the problem in Python")


def diameter_code() -> str:
    return "```python\ndef diameter(r):\n    return 2 * r\n```"


class Responder:
    """Reports every call on stdout, and slows down the ones about `perimeter`."""

    def __init__(self, stopping: threading.Event, release: threading.Event) -> None:
        self.script = PlanSearchScript("area", first=2, derived=2, code_for=self.area_code)
        self.stopping = stopping
        self.release = release
        self.lock = threading.Lock()
        self.diameter_codes = 0
        self.unfixed = 0

    def area_code(self, call: FakeCall) -> str:
        if "fix reply" in call.messages[-1][1]:
            return f"```python\nimport math\n\ndef area(r):\n    return {RIGHT}\n```"
        with self.lock:
            self.unfixed += 1
            first = self.unfixed == 1
        if first:
            return SPECIAL
        return f"```python\nimport math\n\ndef area(r):\n    return {WRONG}\n```"

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
        elif function == "area" and is_direct(call):
            code = f"import math\n\ndef area(r):\n    return {RIGHT}"
            return f"{DIRECT_IDEA}\n\n```python\n{code}\n```"
        elif function == "area":
            self.release.wait(LIFETIME)
        return self.script(call)


def main() -> None:
    stopping = threading.Event()
    release = threading.Event()
    with FakeLLMServer(Responder(stopping, release), api_key=sys.argv[1]) as server:
        print(f"port {server.port}", flush=True)

        def wait_for_stdin_to_close() -> None:
            for line in sys.stdin:
                if line.strip() == "release":
                    release.set()
            release.set()
            stopping.set()

        threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
        stopping.wait(LIFETIME)
        stopping.set()


if __name__ == "__main__":
    main()
