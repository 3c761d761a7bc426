"""Settings are declared once (`plansearch.config`); every other copy agrees with it: the
command-line flags, the language server's keys, the docs' tables, and the VS Code extension's
`package.json` and `settings.ts`. Adding a setting in one place only fails here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

import annotated_types
import pytest
from plansearch_lsp.options import OVERRIDE_FIELDS, SETTING_FIELDS, ServerOptions

from plansearch.cli.main import build_parser
from plansearch.cli.settings_args import settings_from_args
from plansearch.config import Declared, Expose, Settings, camel_case, declared_settings, value_type
from plansearch.models.registry import provider_names

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "vscode-extension"
EXTENSION_OWN = {"interpreter", "pricing", "trace.server"}
"""`package.json` settings the extension reads itself; the server never sees them."""
SENT_BY_THE_EXTENSION = {"codeActionCommand"}
"""Server settings the extension sends itself rather than a person setting them."""

FLAGS_BEFORE = {
    "--provider", "--model", "--base-url", "--concurrency", "--timeout", "--max-retries",
    "--no-cache", "--strategy", "--budget", "--max-calls", "--max-output-tokens",
    "--max-candidates", "--deadline", "--observations", "--subset-size", "--depth",
    "--no-critique", "--no-pseudocode", "--temperature", "--top-p", "--max-tokens", "--seed",
    "--tests", "--no-workspace-tests", "--test-timeout", "--candidate-timeout", "--memory-mb",
    "--isolation", "--no-tests", "--generate-tests", "--stop-when-passing",
}
"""The flags as they were spelt before they were generated: none may go missing."""


def _flagged() -> list[Declared]:
    return [setting for setting in declared_settings() if setting.expose.flag]


def test_every_setting_is_declared_once_in_one_component() -> None:
    names = [setting.name for setting in declared_settings()]
    assert sorted(names) == sorted(Settings.model_fields), "a field outside every component"
    assert len(set(names)) == len(names)
    flags = [setting.expose.flag for setting in _flagged()]
    assert len(set(flags)) == len(flags)


def test_a_no_flag_turns_off_a_boolean_and_says_so() -> None:
    for setting in _flagged():
        assert setting.expose.flag is not None
        if setting.expose.flag.startswith("--no-"):
            assert value_type(setting.field.annotation) is bool, setting.name
            assert setting.expose.help, f"{setting.expose.flag} needs its own help"


def _solve_options() -> set[str]:
    commands = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    solve = commands.choices["solve"]
    return {option for action in solve._actions for option in action.option_strings}


def test_the_flags_are_exactly_the_declared_ones() -> None:
    declared = {setting.expose.flag for setting in _flagged()}
    solve_own = {
        "-h", "--help", "--statement", "--signature", "--force", "--show", "--json", "--apply",
    }
    assert _solve_options() - solve_own == declared | {"--config"}
    assert declared >= FLAGS_BEFORE


def _flag_value(setting: Declared) -> tuple[list[str], object]:
    """Arguments giving `setting` a value other than its default, and that value."""
    flag = setting.expose.flag
    assert flag is not None
    kind = setting.value_type
    if flag.startswith("--no-"):
        return [flag], False
    if setting.choices:
        return [flag, setting.choices[-1]], setting.choices[-1]
    if kind is int:
        return [flag, "32"], 32
    if kind is float:
        return [flag, "0.5"], 0.5
    if kind is Path:
        return [flag, "checks.py"], Path("checks.py")
    return [flag, "http://127.0.0.1:9/v1"], "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("setting", _flagged(), ids=lambda setting: setting.name)
def test_each_flag_sets_its_setting(setting: Declared) -> None:
    arguments, value = _flag_value(setting)
    args = build_parser().parse_args(["solve", "x.py::f", *arguments])
    assert getattr(settings_from_args(args), setting.name) == value
    unset = settings_from_args(build_parser().parse_args(["solve", "x.py::f"]))
    assert getattr(unset, setting.name) == Settings().model_dump()[setting.name]


def test_the_server_reads_the_settings_an_editor_may_set() -> None:
    assert set(SETTING_FIELDS) == {s.name for s in declared_settings() if s.expose.editor}
    assert set(OVERRIDE_FIELDS) == {s.name for s in declared_settings() if s.expose.per_request}
    assert set(OVERRIDE_FIELDS) <= set(SETTING_FIELDS)
    assert "api_key" not in SETTING_FIELDS, "a key never travels in settings"


def test_the_docs_tables_are_up_to_date() -> None:
    run = subprocess.run([sys.executable, "scripts/settings_docs.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(\w+)` \| `PLANSEARCH_", text, flags=re.MULTILINE)
    assert documented == [setting.name for setting in declared_settings()]


# The VS Code extension's copies


def _bounds(metadata: list[Any]) -> dict[str, float]:
    names = {annotated_types.Ge: ("minimum", "ge"), annotated_types.Gt: ("exclusiveMinimum", "gt"),
             annotated_types.Le: ("maximum", "le"), annotated_types.Lt: ("exclusiveMaximum", "lt")}
    bounds = {}
    for item in metadata:
        if type(item) in names:
            key, attribute = names[type(item)]
            bounds[key] = getattr(item, attribute)
    return bounds


def _vscode(
    annotation: Any, default: object, expose: Expose, metadata: list[Any],
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """How a setting must look in `contributes.configuration`: VS Code's form of its type,
    its choices, its default (an unset text is ""), bounds and scope."""
    json_type = {bool: "boolean", int: "integer", float: "number"}.get(
        value_type(annotation), "string")
    expected: dict[str, Any] = {"type": json_type, "default": default, "scope": expose.editor,
                                **_bounds(metadata)}
    if choices:
        expected["enum"] = list(choices)
    if default is None:
        expected["default"] = "" if json_type == "string" else None
        if json_type != "string":
            expected["type"] = [json_type, "null"]
    return expected


def _declared_for_the_editor() -> dict[str, dict[str, Any]]:
    """Every server setting a person may set in VS Code, by key, as package.json must say it."""
    declared = {
        setting.editor_key: _vscode(setting.field.annotation, setting.field.default,
                                    setting.expose, setting.field.metadata, setting.choices)
        for setting in declared_settings()
        if setting.expose.editor
    }
    hints = get_type_hints(ServerOptions, include_extras=True)
    for field in fields(ServerOptions):
        expose = field.metadata.get("expose")
        if expose is not None and expose.editor:
            declared[camel_case(field.name)] = _vscode(hints[field.name], field.default,
                                                       expose, [])
    return declared


def _package_settings() -> dict[str, dict[str, Any]]:
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    properties = package["contributes"]["configuration"]["properties"]
    return {key.removeprefix("plansearch."): value for key, value in properties.items()}


def _settings_ts() -> str:
    return (EXTENSION / "src" / "settings.ts").read_text(encoding="utf-8")


def _ts_list(source: str, name: str) -> list[str]:
    match = re.search(rf"export const {name} = \[(.*?)\] as const;", source, flags=re.DOTALL)
    assert match, f"no {name} list"
    return re.findall(r"'([^']+)'", match.group(1))


def test_package_json_declares_every_editor_setting_alike() -> None:
    declared = _declared_for_the_editor()
    contributed = _package_settings()
    assert set(contributed) - EXTENSION_OWN == set(declared), "added in one place only"
    for key, expected in declared.items():
        given = contributed[key]
        shown = {name: given.get(name) for name in expected}
        assert shown == expected, key
        bounds = {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}
        assert bounds & given.keys() == bounds & expected.keys(), key


def test_settings_ts_sends_every_editor_setting() -> None:
    source = _settings_ts()
    assert set(_ts_list(source, "SERVER_SETTINGS")) == set(_declared_for_the_editor())
    for key in SENT_BY_THE_EXTENSION:
        assert re.search(rf"\{{ {key} \}}", source), f"serverSettings must send {key}"
    server_own = {camel_case(field.name) for field in fields(ServerOptions)}
    assert server_own >= SENT_BY_THE_EXTENSION


def test_the_extension_knows_the_registered_providers() -> None:
    secrets = (EXTENSION / "src" / "secrets.ts").read_text(encoding="utf-8")
    assert tuple(_ts_list(secrets, "PROVIDERS")) == provider_names()
    default = re.search(r"get<string>\('provider'\) \?\? '(\w+)'", _settings_ts())
    assert default and default.group(1) == Settings.model_fields["provider"].default
