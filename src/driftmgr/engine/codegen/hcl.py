"""HCL writing: literals, expressions and bodies, laid out the way `terraform fmt` leaves them.

Values are plain Python data (str, int, float, bool, None, list, dict) plus `Expr` for raw
expressions (references, `jsonencode(...)`). A `Body` holds attributes and nested blocks in order;
`render` aligns the `=` of consecutive single-line attributes, as `terraform fmt` does, so the
generated files pass `terraform fmt -check`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

INDENT = "  "
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Bare words that mean something else where an object key is expected.
_RESERVED_KEYS = frozenset({"for", "in", "if", "null", "true", "false"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SINGLE_LINE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Expr:
    """A raw HCL expression, written as is (`aws_vpc.main.id`, `jsonencode({...})`)."""

    text: str


@dataclass(frozen=True, slots=True)
class JsonDoc:
    """A JSON value written as `jsonencode(<value>)`."""

    value: Any


def quote(text: str) -> str:
    """A quoted HCL string literal whose value is exactly `text`.

    Quotes, backslashes and control characters are escaped; template sequences are neutralised
    (`${` → `$${`, `%{` → `%%{`), so nothing in a live value is ever interpolated.
    """
    out: list[str] = ['"']
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "$%" and i + 1 < n and text[i + 1] == "{":
            out.append(ch + ch + "{")
            i += 2
            continue
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        i += 1
    out.append('"')
    return "".join(out)


def is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name))


def object_key(key: str) -> str:
    """An object constructor key: bare when it is a plain identifier, quoted otherwise."""
    if is_identifier(key) and key not in _RESERVED_KEYS:
        return key
    return quote(key)


def number(value: int | float) -> str:
    if isinstance(value, bool):  # a bool is an int in Python: never a number here
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written in HCL")
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def value(v: Any, level: int = 0) -> str:
    """`v` as an HCL expression; nested collections indent from `level`."""
    if isinstance(v, Expr):
        return v.text
    if isinstance(v, JsonDoc):
        return f"jsonencode({value(v.value, level)})"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return number(v)
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, dict):
        return _object(v, level)
    if isinstance(v, list | tuple):
        return _list(list(v), level)
    raise TypeError(f"cannot write a {type(v).__name__} in HCL")


def _list(items: list[Any], level: int) -> str:
    if not items:
        return "[]"
    rendered = [value(i, level + 1) for i in items]
    one_line = "[" + ", ".join(rendered) + "]"
    if (
        "\n" not in one_line
        and len(one_line) <= _SINGLE_LINE_LIMIT
        and not any(isinstance(i, dict | JsonDoc) and i for i in items)
    ):
        return one_line
    pad = INDENT * (level + 1)
    return "[\n" + "".join(f"{pad}{r},\n" for r in rendered) + INDENT * level + "]"


def _object(obj: dict[str, Any], level: int) -> str:
    if not obj:
        return "{}"
    lines = _aligned([(object_key(str(k)), value(v, level + 1)) for k, v in obj.items()], level + 1)
    return "{\n" + "".join(lines) + INDENT * level + "}"


def _aligned(items: list[tuple[str, str]], level: int) -> list[str]:
    """`name = value` lines; runs of single-line items align their `=` (terraform fmt)."""
    pad = INDENT * level
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        out.extend(f"{pad}{k.ljust(width)} = {v}\n" for k, v in run)
        run.clear()

    for key, text in items:
        if "\n" in text:
            flush()
            out.append(f"{pad}{key} = {text}\n")
        else:
            run.append((key, text))
    flush()
    return out


@dataclass(slots=True)
class Block:
    """`type "label" ... { body }`."""

    type: str
    labels: tuple[str, ...] = ()
    body: Body = field(default_factory=lambda: Body())


@dataclass(slots=True)
class Comment:
    text: str


@dataclass(slots=True)
class Body:
    """Attributes, comments and nested blocks, in the order they were added."""

    items: list[tuple[str, Any] | Block | Comment] = field(default_factory=list)

    def attr(self, name: str, v: Any) -> None:
        self.items.append((name, v))

    def block(self, type_: str, *labels: str) -> Body:
        b = Block(type_, labels)
        self.items.append(b)
        return b.body

    def comment(self, text: str) -> None:
        self.items.append(Comment(text))

    def __bool__(self) -> bool:
        return bool(self.items)

    def render(self, level: int = 0) -> str:
        pad = INDENT * level
        out: list[str] = []
        run: list[tuple[str, str]] = []
        previous_was_block = False

        def flush() -> None:
            out.extend(_aligned(run, level))
            run.clear()

        for item in self.items:
            if isinstance(item, Block):
                flush()
                if out and not previous_was_block:
                    out.append("\n")
                out.append(render_block(item, level))
                previous_was_block = True
                continue
            if previous_was_block:
                out.append("\n")
                previous_was_block = False
            if isinstance(item, Comment):
                flush()
                out.extend(f"{pad}# {line}".rstrip() + "\n" for line in item.text.splitlines())
                continue
            name, v = item
            text = value(v, level)
            if "\n" in text:
                flush()
                out.append(f"{pad}{name} = {text}\n")
            else:
                run.append((name, text))
        flush()
        return "".join(out)


def render_block(block: Block, level: int = 0) -> str:
    pad = INDENT * level
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    inner = block.body.render(level + 1)
    if not inner:
        return f"{pad}{head} {{\n{pad}}}\n"
    return f"{pad}{head} {{\n{inner}{pad}}}\n"
