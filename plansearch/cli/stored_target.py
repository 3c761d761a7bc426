"""The `FILE.py::FUNCTION` of a command that starts from stored runs (`apply`, `watch`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plansearch.cli.errors import CliError


@dataclass(frozen=True)
class StoredTarget:
    """A function in a file whose workspace has a run store."""

    target: str
    path: Path
    function: str
    workspace: Path
    store_path: Path

    @classmethod
    def parse(cls, target: str) -> StoredTarget:
        """The target named by `target`; CliError when it is malformed, the file is missing
        or its workspace has no stored runs."""
        from plansearch.extract import parse_target
        from plansearch.problem import ProblemError
        from plansearch.store import default_store_path
        from plansearch.testsources.collect import find_workspace

        try:
            path, function = parse_target(target)
        except ProblemError as error:
            raise CliError(str(error)) from None
        if not path.is_file():
            raise CliError(f"no such file: {path}")
        workspace = find_workspace(path)
        found = cls(target, path, function, workspace, default_store_path(workspace))
        if not found.store_path.is_file():
            raise CliError(f"no stored runs in {workspace}: {found.hint}")
        return found

    @property
    def hint(self) -> str:
        """How to store a run of this target."""
        return f"run `plansearch solve {self.target}` first"

    def no_run(self) -> CliError:
        """The error for a store that holds no run of this function."""
        return CliError(f"no stored run for {self.function} in {self.path}: {self.hint}")
