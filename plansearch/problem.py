"""What to implement: the `Problem` a search works on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ProblemError(Exception):
    """The input cannot become a problem; the message says why and what to do."""


class Example(BaseModel):
    """An input/output example found in a docstring.

    `call` is a Python expression (e.g. ``add(1, 2)``) and `expected` the expression or
    printed value it should equal (e.g. ``3``).
    """

    model_config = ConfigDict(frozen=True)

    call: str
    expected: str
    kind: Literal["doctest", "equality", "arrow"]
    line: int
    """1-based line in the source file (or in the docstring when there is no file)."""


class Problem(BaseModel):
    """A function (or program) to write, with everything the model and the tests need."""

    model_config = ConfigDict(frozen=True)

    statement: str
    """The natural-language task: the docstring, a statement file, or both."""
    entry_point: str | None = None
    """Function name to implement; None for a stdin/stdout program."""
    signature: str | None = None
    """The `def` line(s), e.g. ``def add(a: int, b: int) -> int:``."""
    qualname: str | None = None
    """``Class.method`` when the stub is a method, else the function name."""
    is_async: bool = False
    examples: tuple[Example, ...] = ()
    imports: tuple[str, ...] = ()
    """Import statements of the module, as source lines."""
    helpers: tuple[str, ...] = ()
    """Source of module-level definitions the function may use."""
    source_path: str | None = None
    stub_start_line: int | None = None
    """1-based first line of the stub (decorators included)."""
    stub_end_line: int | None = None
    """1-based last line of the stub."""

    def prompt_text(self) -> str:
        """The problem as the model sees it: statement, signature, context."""
        parts = [self.statement.strip()]
        if self.imports or self.helpers:
            context = "\n".join(self.imports)
            if self.helpers:
                context = (context + "\n\n" if context else "") + "\n\n".join(self.helpers)
            parts.append(
                "The function lives in a module that already contains:\n"
                f"```python\n{context.strip()}\n```"
            )
        if self.signature:
            parts.append(f"Implement this function:\n```python\n{self.starter_code()}\n```")
        else:
            parts.append("Write a complete Python program that reads standard input "
                         "and writes standard output.")
        return "\n\n".join(parts)

    def starter_code(self) -> str:
        """The signature with its docstring and an empty body, as the model should complete."""
        if not self.signature:
            return ""
        return f"{self.signature.rstrip()}\n    ..."
