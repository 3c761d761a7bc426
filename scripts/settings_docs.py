"""Write the generated tables of the docs from their one declaration: the settings
(`plansearch.config`, and the server's own in `plansearch_lsp.options`) and the providers
(`plansearch.models.registry`): docs/configuration.md, the keys of docs/language-server.md
and the settings of docs/vscode-extension.md.

    .venv/bin/python scripts/settings_docs.py          # rewrite the tables
    .venv/bin/python scripts/settings_docs.py --check  # exit 1 if they are out of date

Each table sits between `<!-- begin NAME: ... -->` and `<!-- end NAME -->`; the rest of the
page is written by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

from plansearch_lsp.options import ServerOptions

from plansearch.config import COMPONENTS, Declared, Expose, camel_case, declared_settings
from plansearch.models.registry import provider_info, provider_names

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGE = DOCS / "configuration.md"
_ANOTHER_ENDPOINT = "http://localhost:8080/v1"


def providers_table() -> str:
    """One row per registered provider: its facts."""
    rows = [
        "| provider | default model | key variable | endpoint variable | default endpoint "
        "| key needed |",
        "|---|---|---|---|---|---|",
    ]
    for name in provider_names():
        info = provider_info(name)
        if info.needs_key(_ANOTHER_ENDPOINT):
            needed = "always"
        elif info.needs_key(None):
            needed = "for the default endpoint only"
        else:
            needed = "never"
        keys = " or ".join(f"`{var}`" for var in info.key_env_vars)
        rows.append(f"| `{name}` | `{info.default_model}` | {keys} | `{info.base_url_env_var}` "
                    f"| `{info.default_base_url}` | {needed} |")
    return "\n".join(rows)


def settings_tables() -> str:
    """A heading, the component's docstring and a table per component."""
    parts = []
    for component, model in COMPONENTS.items():
        rows = [
            "| setting | environment | flag | editor | default | meaning |",
            "|---|---|---|---|---|---|",
            *(_row(s) for s in declared_settings() if s.component == component),
        ]
        doc = inspect.cleandoc(model.__doc__ or "")
        parts.append(f"### {component[:1].upper()}{component[1:]}\n\n{doc}\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _row(setting: Declared) -> str:
    expose = setting.expose
    flag = f"`{expose.flag}`" if expose.flag else "(none)"
    editor = f"`{setting.editor_key}`" if expose.editor else "(none)"
    if expose.per_request:
        editor += ", per request"
    meaning = setting.field.description or ""
    if setting.choices:
        meaning += " One of " + ", ".join(f"`{choice}`" for choice in setting.choices) + "."
    return (f"| `{setting.name}` | `{setting.env_var}` | {flag} | {editor} "
            f"| {_default(setting)} | {meaning} |")


def _default(setting: Declared) -> str:
    factory = setting.field.default_factory
    if factory is not None:
        return inspect.cleandoc(factory.__doc__ or "").splitlines()[0].removesuffix(".")
    value = setting.field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"`{value}`"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _editor_settings() -> list[tuple[str, str, str, str]]:
    """(key, default, scope, meaning) of every setting an editor may set, the server's own
    last."""
    rows = [
        (s.editor_key, _default(s), str(s.expose.editor), _meaning(s))
        for s in declared_settings()
        if s.expose.editor
    ]
    for option in dataclasses.fields(ServerOptions):
        expose = option.metadata.get("expose")
        if isinstance(expose, Expose) and expose.editor:
            default = "unset" if option.default is None else str(option.default).lower()
            rows.append((camel_case(option.name), default, expose.editor, option.metadata["doc"]))
    return rows


def server_keys_table() -> str:
    """The keys of the language server's `plansearch` section."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{key}` | {default} | {meaning} |" for key, default, _, meaning in
             _editor_settings()]  # fmt: skip
    rows.append("| `codeActionCommand` | `plansearch.generate` | the command code actions run "
                "(an editor extension sends its own) |")
    return "\n".join(rows)


def editor_settings_table() -> str:
    """The VS Code settings the extension passes to the server."""
    rows = ["| Setting | Default | Scope | Meaning |", "|---|---|---|---|"]
    rows += [f"| `plansearch.{key}` | {default} | {scope} | {meaning} |"
             for key, default, scope, meaning in _editor_settings()]  # fmt: skip
    return "\n".join(rows)


def _meaning(setting: Declared) -> str:
    meaning = setting.field.description or ""
    if setting.choices:
        meaning += " One of " + ", ".join(f"`{choice}`" for choice in setting.choices) + "."
    return meaning


PAGES: dict[Path, dict[str, Callable[[], str]]] = {
    PAGE: {"providers": providers_table, "settings": settings_tables},
    DOCS / "language-server.md": {"server-keys": server_keys_table},
    DOCS / "vscode-extension.md": {"editor-settings": editor_settings_table},
}


def render(text: str, tables: dict[str, Callable[[], str]], page: Path = PAGE) -> str:
    """`text` with every generated table written anew."""
    for name, table in tables.items():
        begin = f"<!-- begin {name}: generated by scripts/settings_docs.py, do not edit -->"
        end = f"<!-- end {name} -->"
        head, found, rest = text.partition(begin)
        _, found_end, tail = rest.partition(end)
        if not (found and found_end):
            raise SystemExit(f"{page}: the markers of the {name} table are missing:\n"
                             f"{begin}\n{end}")
        text = f"{head}{begin}\n{table()}\n{end}{tail}"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1, changing nothing, if the page is out of date")
    args = parser.parse_args()
    stale = False
    for page, tables in PAGES.items():
        text = page.read_text(encoding="utf-8")
        fresh = render(text, tables, page)
        if fresh == text:
            continue
        stale = True
        if args.check:
            print(f"{page} is out of date: run python scripts/settings_docs.py", file=sys.stderr)
        else:
            page.write_text(fresh, encoding="utf-8")
            print(f"rewrote the tables of {page}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
