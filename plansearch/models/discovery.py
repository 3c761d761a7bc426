"""What a local server says about itself: its context window and how many calls it runs at
once, read from the replies of the routes that say it.

- llama.cpp's `llama-server`: `GET /props` (`default_generation_settings.n_ctx`, per slot,
  and `total_slots`);
- OpenAI-compatible `GET /v1/models` entries: `max_model_len` (vLLM), `context_length` or
  `context_window` (others), `meta.n_ctx_train` (llama.cpp: what the model was trained for);
- Ollama's `POST /api/show`: `num_ctx` in `parameters`, else `model_info["<arch>.context_length"]`.

Figures a server runs with come before a model's trained maximum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointFacts:
    """What an endpoint said: its context window in tokens, its parallel slots, and where
    each figure was read (for log lines)."""

    context_window: int | None = None
    window_source: str = ""
    slots: int | None = None
    slots_source: str = ""


def from_llama_props(props: object) -> EndpointFacts:
    """llama.cpp's `/props`."""
    if not isinstance(props, Mapping):
        return EndpointFacts()
    settings = props.get("default_generation_settings")
    window = _count(settings.get("n_ctx")) if isinstance(settings, Mapping) else None
    slots = _count(props.get("total_slots"))
    return EndpointFacts(window, "llama.cpp /props" if window else "",
                         slots, "llama.cpp /props" if slots else "")


def from_models(models: object, model: str) -> EndpointFacts:
    """`/v1/models`: the entry of `model` (or the only entry)."""
    entries = models.get("data") if isinstance(models, Mapping) else None
    if not isinstance(entries, list):
        return EndpointFacts()
    mine = [e for e in entries if isinstance(e, Mapping) and e.get("id") == model]
    if not mine and len(entries) == 1 and isinstance(entries[0], Mapping):
        mine = entries
    if not mine:
        return EndpointFacts()
    entry = mine[0]
    meta = entry.get("meta")
    for value in (entry.get("max_model_len"), entry.get("context_length"),
                  entry.get("context_window"),
                  meta.get("n_ctx_train") if isinstance(meta, Mapping) else None):
        window = _count(value)
        if window:
            return EndpointFacts(window, "/v1/models")
    return EndpointFacts()


def from_ollama_show(show: object) -> EndpointFacts:
    """Ollama's `/api/show`."""
    if not isinstance(show, Mapping):
        return EndpointFacts()
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            window = _count(value.strip()) if name == "num_ctx" else None
            if window:
                return EndpointFacts(window, "Ollama /api/show num_ctx")
    info = show.get("model_info")
    if isinstance(info, Mapping):
        for key, value in info.items():
            window = _count(value) if str(key).endswith(".context_length") else None
            if window:
                return EndpointFacts(window, "Ollama /api/show model_info")
    return EndpointFacts()


def combine(*facts: EndpointFacts) -> EndpointFacts:
    """The first figure of each kind, in the order given."""
    window = next((f for f in facts if f.context_window), EndpointFacts())
    slots = next((f for f in facts if f.slots), EndpointFacts())
    return EndpointFacts(window.context_window, window.window_source,
                         slots.slots, slots.slots_source)


def _count(value: object) -> int | None:
    """A positive integer, from a number or its digits."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
