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
    """1-based line in the source file for docstring examples; in the statement text for
    examples found in a statement."""


class Problem(BaseModel):
    """A function (or program) to write, with everything the model and the tests need."""

    model_config = ConfigDict(frozen=True)

    statement: str
    """The natural-language task: the docstring, a statement file, or both."""
    entry_point: str | None = None
    """Function name to implement; None for a stdin/stdout program."""
    signature: str | None = None
    """The `def` line(s) as written, decorators included, dedented to column 0, e.g.
    ``def add(a: int, b: int) -> int:``."""
    docstring: str | None = None
    """The stub's own docstring, cleaned (`statement` may add more after it)."""
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
        """The problem as the model sees it: statement, module context, what to write."""
        parts = []
        described = self._statement_beyond_docstring()
        if described:
            parts.append(described)
        context = "\n".join(self.imports)
        if self.helpers:
            context = (context + "\n\n" if context else "") + "\n\n".join(self.helpers)
        if context.strip():
            parts.append(
                "The code lives in a module that already contains:\n"
                f"```python\n{context.strip()}\n```"
            )
        if not self.signature:
            parts.append("Write a complete Python program that reads standard input "
                         "and writes standard output.")
        elif self.class_name:
            parts.append(
                f"Implement the method `{self.entry_point}` of class `{self.class_name}` "
                "(write the method alone, as a top-level `def`):\n"
                f"```python\n{self.starter_code()}\n```"
            )
        else:
            parts.append(f"Implement this function:\n```python\n{self.starter_code()}\n```")
        return "\n\n".join(parts)

    def starter_code(self) -> str:
        """The signature, the docstring and an empty body, as the model should complete it.

        A method comes dedented, like a top-level function.
        """
        if not self.signature:
            return ""
        body = [self.signature.rstrip()]
        if self.docstring:
            body.append(_docstring_literal(self.docstring, "    "))
        body.append("    ...")
        return "\n".join(body)

    @property
    def class_name(self) -> str | None:
        """The enclosing class of a method stub (``A.B`` for nested classes), else None."""
        if self.qualname and "." in self.qualname:
            return self.qualname.rsplit(".", 1)[0]
        return None

    def _statement_beyond_docstring(self) -> str:
        """What the statement says that the starter code's docstring does not."""
        if not self.signature or not self.docstring:
            return self.statement.strip()
        statement = self.statement.strip()
        if statement.startswith(self.docstring):
            return statement[len(self.docstring) :].strip()
        return statement


def _docstring_literal(text: str, indent: str) -> str:
    """`text` as a triple-quoted docstring indented by `indent`, always valid Python."""
    escaped = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    lines = escaped.splitlines()
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""'
    rest = [f"{indent}{line}" if line.strip() else "" for line in lines[1:]]
    return "\n".join([f'{indent}"""{lines[0]}', *rest, f'{indent}"""'])
