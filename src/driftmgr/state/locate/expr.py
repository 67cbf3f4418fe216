"""A small evaluator for the HCL expressions that name state locations.

python-hcl2 gives attribute values as text: a string literal keeps its quotes (`'"acme"'`, python-hcl2
≥ 5) or not (4.x), and any other expression is wrapped as `${...}`. Backend settings and Terragrunt
`remote_state` blocks mostly hold literals, templates (`"${path_relative_to_include()}/tf.tfstate"`),
references (`local.region`) and a few function calls; this module evaluates exactly that subset:
literals, templates, references through a `Scope`, function calls, `[...]`/`{...}` constructors,
indexing, the conditional operator and the usual unary/binary operators. Anything else (`for`
expressions, splats, template directives, unknown functions) raises `Unresolved`, whose message
names what could not be computed — callers turn that into a warning, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

META_KEYS = ("__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__")
_MAX_DEPTH = 64


class Unresolved(Exception):
    """An expression that cannot be computed here; the message says which and why."""


class Namespace:
    """A lazily evaluated object (`local`, `var`, `include.root`): members computed on access."""

    def __init__(self, name: str, getter: Callable[[str], Any]) -> None:
        self.name = name
        self._getter = getter

    def get(self, key: str) -> Any:
        return self._getter(key)

    def __repr__(self) -> str:
        return f"Namespace({self.name})"


Function = Callable[..., Any]


@dataclass
class Scope:
    """What names mean while evaluating: root variables and callable functions."""

    roots: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    depth: int = 0


# --- raw python-hcl2 values ------------------------------------------------------------------


def unquote(text: str) -> str:
    """A block label or object key as written: `'"s3"'` → `s3` (python-hcl2 ≥ 5 keeps the quotes)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return _unescape(text[1:-1])
    return text


def is_meta(key: str) -> bool:
    return key in META_KEYS


def evaluate(raw: Any, scope: Scope) -> Any:
    """Evaluate one raw python-hcl2 value (string, number, list, object) in `scope`."""
    if isinstance(raw, str):
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            inner = raw[1:-1]
            if inner.startswith("<<"):
                return render_template(_heredoc_body(inner), scope, quoted=False)
            return render_template(inner, scope, quoted=True)
        if raw.startswith("<<"):
            return render_template(_heredoc_body(raw), scope, quoted=False)
        return render_template(raw, scope, quoted=False)
    if isinstance(raw, dict):
        return {unquote(k): evaluate(v, scope) for k, v in raw.items() if not is_meta(k)}
    if isinstance(raw, list):
        return [evaluate(v, scope) for v in raw]
    return raw


def evaluate_fields(raw: dict[str, Any], scope: Scope) -> tuple[dict[str, Any], dict[str, str]]:
    """Evaluate each member of an object separately: (values, {key: why it is unresolved})."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if is_meta(key):
            continue
        name = unquote(key)
        try:
            values[name] = evaluate(value, scope)
        except Unresolved as exc:
            errors[name] = str(exc)
    return values, errors


def _heredoc_body(text: str) -> str:
    first, _, rest = text.partition("\n")
    marker = first[2:].lstrip("-").strip()
    lines = rest.split("\n")
    if lines and lines[-1].strip() == marker:
        lines = lines[:-1]
    if first.startswith("<<-"):
        indents = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
        cut = min(indents, default=0)
        lines = [ln[cut:] for ln in lines]
    return "\n".join(lines) + ("\n" if lines else "")


# --- templates -------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}.get(nxt)
            if width and re.fullmatch(r"[0-9a-fA-F]+", text[i + 2 : i + 2 + width] or "x"):
                out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _skip_string(text: str, i: int) -> int:
    """`text[i]` is an opening quote: return the index just past the closing one."""
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        if text.startswith("${", i) or text.startswith("%{", i):
            i = _interp_end(text, i + 2) + 1
            continue
        i += 1
    raise Unresolved(f"unterminated string in {text!r}")


def _interp_end(text: str, i: int) -> int:
    """`i` is just past `${`: return the index of the matching `}`."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise Unresolved(f"unterminated interpolation in {text!r}")


def render_template(text: str, scope: Scope, *, quoted: bool) -> Any:
    """Render a string template; a template that is one interpolation returns its value as is."""
    parts: list[tuple[bool, str]] = []  # (is_expression, text)
    buf: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i) or text.startswith("%%{", i):
            buf.append(text[i + 1 : i + 3])
            i += 3
            continue
        if text.startswith("%{", i):
            raise Unresolved(f"template directive in {text!r}")
        if text.startswith("${", i):
            end = _interp_end(text, i + 2)
            if buf:
                parts.append((False, "".join(buf)))
                buf = []
            parts.append((True, text[i + 2 : end].strip().removeprefix("~").removesuffix("~").strip()))
            i = end + 1
            continue
        buf.append(text[i])
        i += 1
    if buf:
        parts.append((False, "".join(buf)))
    if len(parts) == 1 and parts[0][0]:
        return eval_expr(parts[0][1], scope)
    out: list[str] = []
    for is_expr, chunk in parts:
        if not is_expr:
            out.append(_unescape(chunk) if quoted else chunk)
            continue
        out.append(to_string(eval_expr(chunk, scope), chunk))
    return "".join(out)


def to_string(value: Any, what: str = "value") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if value is None:
        raise Unresolved(f"`{what}` is null")
    raise Unresolved(f"`{what}` is not a string")


# --- expressions -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*(?:::[A-Za-z_][A-Za-z0-9_-]*)*)
      | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[-+*/%<>!?:=,.()\[\]{}])
    )""",
    re.VERBOSE,
)

_BINARY = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


@dataclass
class _Tok:
    kind: str  # num | ident | op | str | end
    text: str


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while True:
        while i < len(src) and src[i].isspace():
            i += 1
        if i >= len(src):
            break
        if src[i] == '"':
            end = _skip_string(src, i)
            toks.append(_Tok("str", src[i + 1 : end - 1]))
            i = end
            continue
        m = _TOKEN.match(src, i)
        if not m or m.end() == i:
            raise Unresolved(f"cannot read the expression `{src}`")
        kind = m.lastgroup or "op"
        toks.append(_Tok(kind, m.group(kind)))
        i = m.end()
    toks.append(_Tok("end", ""))
    return toks


def eval_expr(src: str, scope: Scope) -> Any:
    """Evaluate the expression text found inside `${...}`."""
    if scope.depth > _MAX_DEPTH:
        raise Unresolved(f"`{src}` nests too deeply (a reference cycle?)")
    parser = _Parser(_tokenize(src), src, scope)
    value = parser.expression()
    if parser.peek().kind != "end":
        raise Unresolved(f"cannot evaluate `{src}` (unsupported syntax near `{parser.peek().text}`)")
    return value


class _Parser:
    def __init__(self, toks: list[_Tok], src: str, scope: Scope) -> None:
        self.toks = toks
        self.pos = 0
        self.src = src
        self.scope = scope

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.peek()
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().kind == "op" and self.peek().text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise Unresolved(f"cannot evaluate `{self.src}` (expected `{text}`)")

    # expression := binary ('?' expression ':' expression)?
    def expression(self) -> Any:
        cond = self.binary(1)
        if self.accept("?"):
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            if not isinstance(cond, bool):
                raise Unresolved(f"condition in `{self.src}` is not a boolean")
            return yes if cond else no
        return cond

    def binary(self, min_prec: int) -> Any:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = _BINARY.get(tok.text) if tok.kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = _apply_binary(tok.text, left, right, self.src)

    def unary(self) -> Any:
        if self.accept("!"):
            value = self.unary()
            if not isinstance(value, bool):
                raise Unresolved(f"`!` applied to a non-boolean in `{self.src}`")
            return not value
        if self.accept("-"):
            value = self.unary()
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise Unresolved(f"`-` applied to a non-number in `{self.src}`")
            return -value
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while True:
            if self.accept("."):
                tok = self.take()
                if tok.kind == "op" and tok.text == "*":
                    raise Unresolved(f"splat expressions are not supported: `{self.src}`")
                if tok.kind not in ("ident", "num"):
                    raise Unresolved(f"cannot evaluate `{self.src}`")
                value = _index(value, tok.text if tok.kind == "ident" else int(tok.text), self.src)
            elif self.accept("["):
                if self.accept("*"):
                    raise Unresolved(f"splat expressions are not supported: `{self.src}`")
                key = self.expression()
                self.expect("]")
                value = _index(value, key, self.src)
            else:
                return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "str":
            return render_template(tok.text, self._child(), quoted=True)
        if tok.kind == "op" and tok.text == "(":
            value = self.expression()
            self.expect(")")
            return value
        if tok.kind == "op" and tok.text == "[":
            return self.tuple_()
        if tok.kind == "op" and tok.text == "{":
            return self.object_()
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return tok.text == "true"
            if tok.text == "null":
                return None
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(tok.text)
            return self.root(tok.text)
        raise Unresolved(f"cannot evaluate `{self.src}`")

    def _child(self) -> Scope:
        return Scope(self.scope.roots, self.scope.functions, self.scope.depth + 1)

    def tuple_(self) -> list[Any]:
        if self.peek().kind == "ident" and self.peek().text == "for":
            raise Unresolved(f"`for` expressions are not supported: `{self.src}`")
        items: list[Any] = []
        while not self.accept("]"):
            items.append(self.expression())
            if not self.accept(","):
                self.expect("]")
                break
        return items

    def object_(self) -> dict[str, Any]:
        if self.peek().kind == "ident" and self.peek().text == "for":
            raise Unresolved(f"`for` expressions are not supported: `{self.src}`")
        obj: dict[str, Any] = {}
        while not self.accept("}"):
            tok = self.peek()
            if tok.kind == "ident" and self.peek(1).text in ("=", ":"):
                self.take()
                key = tok.text
            else:
                key = to_string(self.expression(), self.src)
            if not (self.accept("=") or self.accept(":")):
                raise Unresolved(f"cannot evaluate `{self.src}` (expected `=` in an object)")
            obj[key] = self.expression()
            self.accept(",")
        return obj

    def root(self, name: str) -> Any:
        if name not in self.scope.roots:
            raise Unresolved(f"`{name}` is not known here (in `{self.src}`)")
        return self.scope.roots[name]

    def call(self, name: str) -> Any:
        self.expect("(")
        if name in ("try", "can"):
            return self._try_or_can(name)
        args: list[Any] = []
        while not self.accept(")"):
            args.append(self.expression())
            if self.accept("..."):
                raise Unresolved(f"argument expansion is not supported: `{self.src}`")
            if not self.accept(","):
                self.expect(")")
                break
        fn = self.scope.functions.get(name)
        if fn is None:
            where = f" (in `{self.src}`)" if self.src.strip() != f"{name}()" else ""
            raise Unresolved(f"function `{name}()` cannot be evaluated here{where}")
        try:
            return fn(*args)
        except Unresolved:
            raise
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise Unresolved(f"`{name}()` failed in `{self.src}`: {exc}") from None

    def _try_or_can(self, name: str) -> Any:
        """`try(a, b)` / `can(a)`: arguments are evaluated one by one, failures are values."""
        last: Unresolved | None = None
        result: Any = None
        found = False
        while not self.accept(")"):
            start = self.pos
            if found:
                self._skip_argument()
            else:
                try:
                    result = self.expression()
                    found = True
                except Unresolved as exc:
                    last = exc
                    self.pos = start
                    self._skip_argument()
            if not self.accept(","):
                self.expect(")")
                break
        if name == "can":
            return found
        if not found:
            raise last or Unresolved(f"`try()` has no arguments in `{self.src}`")
        return result

    def _skip_argument(self) -> None:
        depth = 0
        while True:
            tok = self.peek()
            if tok.kind == "end":
                return
            if tok.kind == "op" and tok.text in "([{":
                depth += 1
            elif tok.kind == "op" and tok.text in ")]}":
                if depth == 0:
                    return
                depth -= 1
            elif tok.kind == "op" and tok.text == "," and depth == 0:
                return
            self.take()


def _index(value: Any, key: Any, src: str) -> Any:
    if isinstance(value, Namespace):
        return value.get(to_string(key, src))
    if isinstance(value, dict):
        if key not in value:
            raise Unresolved(f"no attribute `{key}` in `{src}`")
        return value[key]
    if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(value):
            raise Unresolved(f"index {key} out of range in `{src}`")
        return value[key]
    raise Unresolved(f"cannot index `{src}`")


def _apply_binary(op: str, left: Any, right: Any, src: str) -> Any:
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    if op in ("&&", "||"):
        if not isinstance(left, bool) or not isinstance(right, bool):
            raise Unresolved(f"`{op}` needs booleans in `{src}`")
        return (left and right) if op == "&&" else (left or right)
    nums = [number(v, src) for v in (left, right)]
    a, b = nums
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            raise Unresolved(f"division by zero in `{src}`")
        return a / b if op == "/" else a % b
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def number(value: Any, src: str) -> int | float:
    if isinstance(value, bool):
        raise Unresolved(f"a boolean used as a number in `{src}`")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                pass
    raise Unresolved(f"a non-number used in arithmetic in `{src}`")


def lazy_namespace(name: str, raw: dict[str, Any], scope: Scope) -> Namespace:
    """`local`/`var`: members are raw HCL values evaluated in `scope` on first use; cycles reported."""
    cache: dict[str, Any] = {}
    active: set[str] = set()

    def get(key: str) -> Any:
        if key in cache:
            return cache[key]
        if key not in raw:
            raise Unresolved(f"`{name}.{key}` is not defined")
        if key in active:
            raise Unresolved(f"`{name}.{key}` refers to itself")
        active.add(key)
        try:
            cache[key] = evaluate(raw[key], scope)
        finally:
            active.discard(key)
        return cache[key]

    return Namespace(name, get)
