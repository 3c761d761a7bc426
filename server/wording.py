"""Messages in the words of an editor's user: settings, not command-line flags.

The engine's messages say what to change in the terminal's words (`--base-url`,
`PLANSEARCH_TIMEOUT`); in an editor the same setting is `plansearch.baseUrl`. Every setting
is declared once (`plansearch.config`) with its flag, environment variable and editor key, so
the translation comes from that declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from plansearch.config import declared_settings

_FLAG_WITH_VALUE = re.compile(r"--(?P<flag>[a-z][a-z-]*)(?:[ =](?P<value>(?!--)[^\s,;)]+))?")
_ENV_VAR = re.compile(r"\bPLANSEARCH_[A-Z_]+\b")


@dataclass(frozen=True)
class _Setting:
    key: str
    negated: bool
    """A `--no-...` flag: it stands for the value false."""
    choices: frozenset[str]


@cache
def _settings_by_flag() -> dict[str, _Setting]:
    """`flag` (without its dashes) -> the editor's setting."""
    found: dict[str, _Setting] = {}
    for setting in declared_settings():
        flag = setting.expose.flag
        if flag and setting.expose.editor:
            choices = frozenset(str(choice) for choice in setting.choices or ())
            found[flag.removeprefix("--")] = _Setting(
                setting.editor_key, flag.startswith("--no-"), choices
            )
    return found


def _is_value(word: str | None, setting: _Setting) -> bool:
    """Whether the word after a flag is its value (a choice, a URL, a number, a model id),
    not the sentence going on."""
    return word is not None and (word in setting.choices or bool(re.search(r"[/:.\d]", word)))


@cache
def _settings_by_env_var() -> dict[str, str]:
    return {s.env_var: s.editor_key for s in declared_settings() if s.expose.editor}


def editor_words(text: str) -> str:
    """`text` with each command-line flag and `PLANSEARCH_...` variable an editor can set
    named as the editor's setting: `--base-url URL` -> `` `plansearch.baseUrl` = URL ``."""

    def flag(match: re.Match[str]) -> str:
        setting = _settings_by_flag().get(match["flag"])
        if setting is None:
            return match[0]
        name = f"`plansearch.{setting.key}`"
        if setting.negated:
            return f"{name} = false" + (f" {match['value']}" if match["value"] else "")
        if _is_value(match["value"], setting):
            return f"{name} = {match['value']}"
        return name + (f" {match['value']}" if match["value"] else "")

    def env_var(match: re.Match[str]) -> str:
        key = _settings_by_env_var().get(match[0])
        return f"`plansearch.{key}`" if key else match[0]

    return _ENV_VAR.sub(env_var, _FLAG_WITH_VALUE.sub(flag, text))


_EXPORT_KEY = re.compile(r"`export (?P<var>[A-Z][A-Z0-9_]*)=\.\.\.`")
_SEE_THE_LOG = re.compile(r"\bsee the log\b(?! \()")
_VS_CODE = re.compile(r"visual studio code|vs ?code|code - oss|code-server|vscodium|cursor|"
                      r"windsurf", re.IGNORECASE)
SET_KEY_COMMAND = "PlanSearch: Set API Key"
"""The extension's command that keeps a key in the editor's secret storage."""


@dataclass(frozen=True)
class Audience:
    """Who reads what the server sends: the editor (named in `clientInfo` of `initialize`),
    whether the PlanSearch extension runs in it (it sets its own `codeActionCommand`), and
    where the server's log is.

    Every client sets the same `plansearch` section, so settings are named the same for all
    (`plansearch.baseUrl`); what differs is how a key is given (the extension's command, or
    the environment the editor starts from) and where the log is read."""

    editor: str = "the editor"
    extension: bool = False
    log_file: str | None = None

    @classmethod
    def of(cls, client_name: str | None, *, extension: bool,
           log_file: str | None = None) -> Audience:
        """The audience of a client that calls itself `client_name`."""
        name = (client_name or "").strip()
        if _VS_CODE.search(name):
            editor = "VS Code"
        elif name.lower().startswith("neovim") or name.lower() == "nvim":
            editor = "Neovim"
        else:
            editor = name or "the editor"
        return cls(editor=editor, extension=extension, log_file=log_file)

    def say(self, text: str) -> str:
        """`text` in this audience's words: settings for flags and variables, its way of
        giving a key, and where its log is."""
        text = editor_words(text)
        text = _EXPORT_KEY.sub(self._key_hint, text)
        if not self.extension and self.log_file:
            text = _SEE_THE_LOG.sub(f"see the log ({self.log_file})", text)
        return text

    def _key_hint(self, match: re.Match[str]) -> str:
        if self.extension:
            return f'the command "{SET_KEY_COMMAND}"'
        return f"`{match['var']}` in the environment {self.editor} is started from"
