"""Reading HCL source precisely enough to edit it in place: where each block, attribute and object
entry starts and ends (byte offsets into the text), and whether a value is a plain literal.

Not a full HCL parser: expressions are only skipped over — strings with `${…}`/`%{…}` templates,
heredocs, comments and brackets are followed so that their ends are found — and a value is evaluated
only when it is a literal (string without templates, number, bool, null, tuples and objects of
those). Everything else is an expression the caller must not overwrite. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\r?\n")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class HclSyntaxError(ValueError):
    """The text is not HCL this reader can follow (an unterminated string, a stray bracket…)."""


@dataclass(slots=True)
class Attr:
    """`name = value` in a body, or `key = value` in an object constructor."""

    name: str  # the name, or the object key's value (None-like "" when the key is an expression)
    start: int  # the name (or key) begins
    key_end: int  # the name (or key) ends
    eq: int  # the `=` (or `:`)
    vstart: int  # the value begins
    vend: int  # the value ends (before trailing spaces and comments)
    line_start: int  # the start of the line holding the name
    line_end: int  # after the newline ending the entry (or the end of its line's content)
    literal_key: bool = True
    sep: int | None = None  # an object entry's `,`

    def single_line(self, text: str) -> bool:
        return "\n" not in text[self.start : self.vend]


@dataclass(slots=True)
class Block:
    type: str
    labels: list[str]
    start: int
    open: int  # the `{`
    close: int  # the `}`
    line_start: int
    items: list[Attr | Block] = field(default_factory=list)

    def attrs(self) -> dict[str, Attr]:
        return {i.name: i for i in self.items if isinstance(i, Attr)}

    def blocks(self, type_: str) -> list[Block]:
        return [i for i in self.items if isinstance(i, Block) and i.type == type_]


@dataclass(slots=True)
class ObjectCons:
    open: int
    close: int
    entries: list[Attr]


def line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def indent_of(text: str, i: int) -> str:
    start = line_start(text, i)
    j = start
    while j < len(text) and text[j] in " \t":
        j += 1
    return text[start:j]


# --- skipping ----------------------------------------------------------------------------------


def _string_end(text: str, i: int) -> int:
    """`text[i]` is `"`: the index after the closing quote (templates followed)."""
    n = len(text)
    i += 1
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "\n":
            break
        if c in "$%" and text.startswith(c + "{", i + 1):  # `$${` / `%%{`: literal
            i += 3
            continue
        if c in "$%" and text.startswith("{", i + 1):
            end = skip_expr(text, i + 2, stops="}", newline_stops=False)
            if end >= n or text[end] != "}":
                break
            i = end + 1
            continue
        i += 1
    raise HclSyntaxError(f"unterminated string at offset {i}")


def _heredoc_end(text: str, i: int) -> int | None:
    m = _HEREDOC.match(text, i)
    if m is None:
        return None
    marker = m.group(2)
    pos = m.end()
    while pos <= len(text):
        nl = text.find("\n", pos)
        line = text[pos : nl if nl >= 0 else len(text)]
        if line.strip() == marker:
            return pos + len(line.rstrip("\r"))
        if nl < 0:
            break
        pos = nl + 1
    raise HclSyntaxError(f"unterminated heredoc {marker} at offset {i}")


def skip_expr(text: str, i: int, *, stops: str = "", newline_stops: bool = True) -> int:
    """From `i`, over one expression: the index of the first character at bracket depth 0 that is in
    `stops`, a newline or a comment (when `newline_stops`), or the end of the text."""
    n = len(text)
    stack: list[str] = []
    while i < n:
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
            continue
        if c == "#" or text.startswith("//", i):
            if not stack and newline_stops:
                return i
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HclSyntaxError(f"unterminated comment at offset {i}")
            i = end + 2
            continue
        if text.startswith("<<", i):
            heredoc = _heredoc_end(text, i)
            if heredoc is not None:
                i = heredoc
                continue
        if c in _CLOSERS:
            stack.append(_CLOSERS[c])
            i += 1
            continue
        if c in ")]}":
            if stack and stack[-1] == c:
                stack.pop()
                i += 1
                continue
            if not stack and c in stops:
                return i
            raise HclSyntaxError(f"unexpected {c!r} at offset {i}")
        if not stack and ((c == "\n" and newline_stops) or c in stops):
            return i
        i += 1
    if stack:
        raise HclSyntaxError(f"unclosed {stack[-1]!r} at the end of the text")
    return i


def _skip_blank(text: str, i: int, *, newlines: bool = True) -> int:
    """Over spaces (and newlines, comments when `newlines`)."""
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r" or (newlines and c == "\n"):
            i += 1
        elif newlines and (c == "#" or text.startswith("//", i)):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HclSyntaxError(f"unterminated comment at offset {i}")
            i = end + 2
        else:
            break
    return i


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " \t\r":
        end -= 1
    return end


def _entry_line_end(text: str, vend: int) -> int:
    nl = text.find("\n", vend)
    return len(text) if nl < 0 else nl + 1


# --- bodies --------------------------------------------------------------------------------------


def parse_body(text: str, i: int = 0, *, closer: str | None = None) -> tuple[list[Attr | Block], int]:
    """The attributes and blocks of a body from `i` up to `closer` (`}`) or the end of the text;
    returns them and the index of the closer (or the end)."""
    items: list[Attr | Block] = []
    n = len(text)
    while True:
        i = _skip_blank(text, i)
        if i >= n:
            if closer is not None:
                raise HclSyntaxError("a block is not closed")
            return items, i
        if closer is not None and text[i] == closer:
            return items, i
        m = _IDENT.match(text, i)
        if m is None:
            raise HclSyntaxError(f"expected a name at offset {i}: {text[i : i + 20]!r}")
        name, start = m.group(0), i
        i = _skip_blank(text, m.end(), newlines=False)
        if text.startswith("=", i) and not text.startswith("==", i):
            eq = i
            vstart = _skip_blank(text, eq + 1, newlines=False)
            raw_end = skip_expr(text, vstart, stops=closer or "")
            vend = _rstrip(text, vstart, raw_end)
            if vend == vstart:
                raise HclSyntaxError(f"{name} has no value (offset {eq})")
            items.append(
                Attr(
                    name,
                    start,
                    m.end(),
                    eq,
                    vstart,
                    vend,
                    line_start(text, start),
                    _entry_line_end(text, vend),
                )
            )
            i = raw_end
            continue
        labels: list[str] = []
        while i < n and text[i] != "{":
            if text[i] == '"':
                end = _string_end(text, i)
                labels.append(decode_string(text[i:end]))
                i = end
            else:
                lm = _IDENT.match(text, i)
                if lm is None:
                    raise HclSyntaxError(f"unexpected {text[i]!r} in the header of a {name} block")
                labels.append(lm.group(0))
                i = lm.end()
            i = _skip_blank(text, i, newlines=False)
        if i >= n:
            raise HclSyntaxError(f"a {name} block has no body")
        inner, close = parse_body(text, i + 1, closer="}")
        items.append(Block(name, labels, start, i, close, line_start(text, start), inner))
        i = close + 1


def parse_object(text: str, open_: int) -> ObjectCons:
    """The entries of the object constructor whose `{` is at `open_`."""
    entries: list[Attr] = []
    i = open_ + 1
    n = len(text)
    while True:
        i = _skip_blank(text, i)
        if i >= n:
            raise HclSyntaxError("an object is not closed")
        if text[i] == "}":
            return ObjectCons(open_, i, entries)
        start = i
        literal_key = True
        if text[i] == '"':
            key_end = _string_end(text, i)
            raw = text[i:key_end]
            literal_key = is_literal_string(raw)
            key = decode_string(raw) if literal_key else ""
        elif text[i] == "(":
            key_end = skip_expr(text, i, stops=":=", newline_stops=False)
            key_end = _rstrip(text, i, key_end)
            key, literal_key = "", False
        else:
            km = _IDENT.match(text, i)
            if km is None:
                raise HclSyntaxError(f"expected an object key at offset {i}")
            key_end = km.end()
            key = km.group(0)
            if text.startswith(".", key_end) or text.startswith("[", key_end):  # `a.b = …`: not literal
                key_end = skip_expr(text, i, stops=":=", newline_stops=False)
                key_end = _rstrip(text, i, key_end)
                key, literal_key = "", False
        i = _skip_blank(text, key_end, newlines=False)
        if i >= n or text[i] not in "=:":
            raise HclSyntaxError(f"expected = after an object key at offset {i}")
        eq = i
        vstart = _skip_blank(text, eq + 1, newlines=False)
        raw_end = skip_expr(text, vstart, stops=",}")
        vend = _rstrip(text, vstart, raw_end)
        after = _skip_blank(text, raw_end, newlines=False)
        sep = after if after < n and text[after] == "," else None
        entries.append(
            Attr(
                key,
                start,
                key_end,
                eq,
                vstart,
                vend,
                line_start(text, start),
                _entry_line_end(text, vend),
                literal_key,
                sep,
            )
        )
        i = sep + 1 if sep is not None else raw_end


# --- literals ------------------------------------------------------------------------------------


def is_literal_string(raw: str) -> bool:
    """A quoted string without template sequences (`$${` and `%%{` are literal)."""
    i = 1
    while i < len(raw) - 1:
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] in "$%" and raw.startswith(raw[i] + "{", i + 1):
            i += 3
            continue
        if raw[i] in "$%" and raw.startswith("{", i + 1):
            return False
        i += 1
    return True


def decode_string(raw: str) -> str:
    """The value of a quoted literal (escapes decoded; templates left as written)."""
    out: list[str] = []
    i, end = 1, len(raw) - 1
    while i < end:
        c = raw[i]
        if c == "\\" and i + 1 < end:
            nxt = raw[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
                i += 2
                continue
            width = 4 if nxt == "u" else 8 if nxt == "U" else 0
            if width:
                out.append(chr(int(raw[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        if c in "$%" and raw.startswith(c + "{", i + 1):
            out.append(c + "{")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


class _NotLiteral(Exception):
    pass


def literal(text: str, start: int, end: int) -> tuple[bool, Any]:
    """(True, value) when text[start:end] is a literal value, else (False, None)."""
    try:
        value, i = _literal(text, _skip_blank(text, start), end)
        if _skip_blank(text, i) < end:
            return False, None
        return True, value
    except (_NotLiteral, HclSyntaxError, ValueError):
        return False, None


def _literal(text: str, i: int, end: int) -> tuple[Any, int]:
    if i >= end:
        raise _NotLiteral
    c = text[i]
    if c == '"':
        stop = _string_end(text, i)
        raw = text[i:stop]
        if not is_literal_string(raw):
            raise _NotLiteral
        return decode_string(raw), stop
    if c == "[":
        items: list[Any] = []
        i = _skip_blank(text, i + 1)
        while text[i] != "]":
            item, i = _literal(text, i, end)
            items.append(item)
            i = _skip_blank(text, i)
            if text[i] == ",":
                i = _skip_blank(text, i + 1)
            elif text[i] != "]":
                raise _NotLiteral
        return items, i + 1
    if c == "{":
        obj = parse_object(text, i)
        out: dict[str, Any] = {}
        for e in obj.entries:
            if not e.literal_key:
                raise _NotLiteral
            value, stop = _literal(text, e.vstart, e.vend)
            if stop != e.vend:
                raise _NotLiteral
            out[e.name] = value
        return out, obj.close + 1
    m = _IDENT.match(text, i)
    if m is not None:
        word = {"true": True, "false": False, "null": None}
        if m.group(0) not in word or text.startswith((".", "[", "("), m.end()):
            raise _NotLiteral
        return word[m.group(0)], m.end()
    m = _NUMBER.match(text, i)
    if m is not None:
        s = m.group(0)
        return (float(s) if any(x in s for x in ".eE") else int(s)), m.end()
    raise _NotLiteral
