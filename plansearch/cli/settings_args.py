"""Command-line flags of the settings, made from their declaration (`plansearch.config`), and
turning them into `Settings`."""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Callable, Iterable

from pydantic import ValidationError

from plansearch.cli.errors import CliError
from plansearch.config import COMPONENTS, Declared, Settings, declared_settings, load_settings


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config` and every setting's flag, a group per component."""
    parser.add_argument("--config", metavar="FILE", help="config file (TOML) to read")
    _add_flags(parser, COMPONENTS)


def add_test_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of where tests come from and how candidates run."""
    _add_flags(parser, ("tests", "sandbox"))


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the given flags on top; invalid values become a `CliError`."""
    overrides = {
        setting.name: getattr(args, setting.name, None)
        for setting in declared_settings()
        if setting.expose.flag
    }
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        raise CliError(f"invalid settings: {problems}") from None
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"the config file is not valid TOML: {error}") from None


def _add_flags(parser: argparse.ArgumentParser, components: Iterable[str]) -> None:
    for component in components:
        group = parser.add_argument_group(component)
        for setting in declared_settings():
            if setting.component == component and setting.expose.flag:
                _add_flag(group, setting)


def _add_flag(group: argparse._ArgumentGroup, setting: Declared) -> None:
    """The flag stores into the setting's own name; unset, it is None (not an override)."""
    flag = setting.expose.flag
    assert flag is not None
    if flag.startswith("--no-"):
        group.add_argument(flag, dest=setting.name, action="store_const", const=False,
                           help=setting.expose.help)
        return
    kind = setting.value_type
    parse: Callable[[str], object] = kind if kind in (int, float) else str
    group.add_argument(
        flag,
        dest=setting.name,
        type=parse,
        choices=setting.choices,
        metavar=setting.expose.metavar,
        help=setting.expose.help or flag_help(setting),
    )


def flag_help(setting: Declared) -> str:
    """A flag's help from its setting's description: "Seconds to wait." -> "seconds to wait"."""
    text = (setting.field.description or "").removesuffix(".")
    if text[1:2].islower():  # not "S: ..." or "API ..."
        text = text[:1].lower() + text[1:]
    return text.replace("%", "%%")
