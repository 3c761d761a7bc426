"""Command-line flags for every setting, and turning them into `Settings`."""

from __future__ import annotations

import argparse
import tomllib
from typing import get_args

from pydantic import ValidationError

from plansearch.cli.errors import CliError
from plansearch.config import (
    BudgetName,
    IsolationName,
    ProviderName,
    Settings,
    StrategyName,
    load_settings,
)

FLAG_SETTINGS = (
    "provider", "model", "base_url", "strategy", "budget", "max_calls", "max_output_tokens",
    "max_candidates", "deadline", "concurrency", "timeout", "max_retries", "observations",
    "subset_size", "depth", "temperature", "top_p", "max_tokens", "seed",
    "tests_file", "generate_tests", "stop_when_passing", "test_timeout", "candidate_timeout",
    "memory_mb", "isolation",
)


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that override the environment and the config file."""
    model = parser.add_argument_group("model")
    model.add_argument("--provider", choices=get_args(ProviderName))
    model.add_argument("--model", help="model id (default: the provider's default)")
    model.add_argument("--base-url", help="endpoint, e.g. http://localhost:11434/v1")
    model.add_argument("--concurrency", type=int, help="model calls in flight at once")
    model.add_argument("--timeout", type=float, help="seconds to wait for one reply")
    model.add_argument("--max-retries", type=int, help="retries of a failed call")
    model.add_argument("--no-cache", action="store_true", help="ignore the response cache")
    model.add_argument("--config", metavar="FILE", help="config file (TOML) to read")

    search = parser.add_argument_group("search")
    search.add_argument("--strategy", choices=get_args(StrategyName))
    search.add_argument("--budget", choices=get_args(BudgetName),
                        help="preset: quick, default or full (the paper's tree)")
    search.add_argument("--max-calls", type=int)
    search.add_argument("--max-output-tokens", type=int)
    search.add_argument("--max-candidates", type=int)
    search.add_argument("--deadline", type=float, help="seconds")

    tree = parser.add_argument_group("PlanSearch tree")
    tree.add_argument("--observations", type=int, help="observations asked for per node")
    tree.add_argument("--subset-size", type=int, help="S: largest subset combined")
    tree.add_argument("--depth", type=int, help="L: layers of observations")
    tree.add_argument("--no-critique", action="store_true", help="skip criticism and fix")
    tree.add_argument("--no-pseudocode", action="store_true", help="code straight from sketch")
    tree.add_argument("--temperature", type=float)
    tree.add_argument("--top-p", type=float)
    tree.add_argument("--max-tokens", type=int, help="output token limit per call")
    tree.add_argument("--seed", type=int)

    tests = add_test_arguments(parser)
    tests.add_argument("--no-tests", action="store_true", help="do not run candidates")
    tests.add_argument("--generate-tests", type=int, metavar="N",
                       help="ask the model for N test inputs (they only group candidates)")
    tests.add_argument("--stop-when-passing", type=int, metavar="K",
                       help="end the search once K candidates pass every trusted test")


def add_test_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Flags of where tests come from and how candidates run; returns their group."""
    tests = parser.add_argument_group("tests")
    tests.add_argument("--tests", dest="tests_file", metavar="FILE",
                       help="an explicit file of tests (pytest functions or asserts)")
    tests.add_argument("--no-workspace-tests", action="store_true",
                       help="ignore pytest tests in the workspace")
    tests.add_argument("--test-timeout", type=float, help="seconds one test may run")
    tests.add_argument("--candidate-timeout", type=float,
                       help="seconds all tests of one candidate may run")
    tests.add_argument("--memory-mb", type=int, help="memory a candidate may use")
    tests.add_argument("--isolation", choices=get_args(IsolationName),
                       help="sandbox level (default: the strongest available)")
    return tests


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the given flags on top; invalid values become a `CliError`."""
    overrides = {name: getattr(args, name, None) for name in FLAG_SETTINGS}
    if getattr(args, "no_cache", False):
        overrides["cache"] = False
    if getattr(args, "no_critique", False):
        overrides["critique"] = False
    if getattr(args, "no_pseudocode", False):
        overrides["pseudocode"] = False
    if getattr(args, "no_tests", False):
        overrides["run_tests"] = False
    if getattr(args, "no_workspace_tests", False):
        overrides["workspace_tests"] = False
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
