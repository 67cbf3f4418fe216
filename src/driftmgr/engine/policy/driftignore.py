"""`.driftignore`: driftctl's ignore file, read the same way.

One rule a line; blank lines and lines starting with `#` are skipped:

    aws_s3_bucket.my-bucket            ignore one resource (type.id)
    aws_iam_user.*                     `*` matches any run of characters, in the type and in the id
    aws_iam_*                          a line without an id ignores every resource of the types
    *                                  ...so this ignores everything
    !aws_iam_user.admin                `!` un-ignores; when several lines match, the last one wins
    aws_s3_bucket.my\\.bucket\\.name   `\\.` is a dot inside the type or id; `\\\\` a backslash,
                                       `\\*` a star, `\\!`/`\\#` a leading `!`/`#`
    aws_instance.*.tags.Name           three or more parts: ignore that attribute path (and what
                                       is under it) on the matched resources, not the resource

Attribute paths may be written with dots (`ingress.0.cidr_blocks`) or Terraform's brackets
(`ingress[0].cidr_blocks`, `tags["kubernetes.io/role"]`) and compare case-insensitively, as in
driftctl. Types and ids compare case-sensitively.

Where driftctl silently skips a line it cannot read, DriftMgr refuses the file and names the line:
an ignore file that does not do what its author thinks hides drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from driftmgr.engine.policy.paths import PathPattern, glob_regex, split_path, split_path_cached
from driftmgr.errors import UsageError
from driftmgr.models import Change

_WILDCARD = object()
_TYPE_CHARS = re.compile(r"^[A-Za-z0-9_*-]+$")


@dataclass(frozen=True, slots=True)
class _Part:
    """One dot-separated part of a rule: literal text with unescaped `*` wildcards."""

    text: str  # literal text, `*` standing for a wildcard (literal stars are kept apart)
    pattern: re.Pattern[str] | None  # None when there is no wildcard: compare `text`

    def matches(self, value: str) -> bool:
        if self.pattern is None:
            return self.text == value
        return self.pattern.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    line: int
    raw: str
    negate: bool
    type: _Part
    id: _Part
    path: PathPattern | None  # None: the rule is about the whole resource

    def matches_resource(self, rtype: str, rid: str) -> bool:
        return self.type.matches(rtype) and self.id.matches(rid)


def _split_line(line: str) -> list[list[str | object]]:
    """Split on unescaped dots; each part is a list of literal strings and _WILDCARD markers."""
    parts: list[list[str | object]] = [[]]
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            if i + 1 >= len(line):
                raise ValueError("the line ends with a lone backslash")
            parts[-1].append(line[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append([])
        elif ch == "*":
            parts[-1].append(_WILDCARD)
        else:
            parts[-1].append(ch)
        i += 1
    return parts


def _compile_part(tokens: list[str | object]) -> _Part:
    if _WILDCARD not in tokens:
        return _Part("".join(str(t) for t in tokens), None)
    regex = "".join(".*" if t is _WILDCARD else re.escape(str(t)) for t in tokens)
    shown = "".join("*" if t is _WILDCARD else str(t) for t in tokens)
    return _Part(shown, re.compile(regex, re.DOTALL))


def _text(tokens: list[str | object]) -> str:
    return "".join("*" if t is _WILDCARD else str(t) for t in tokens)


def _parse_rule(raw: str, lineno: int) -> IgnoreRule:
    line = raw.strip()
    negate = line.startswith("!")
    if negate:
        line = line[1:].lstrip()
        if not line:
            raise ValueError("`!` must be followed by a rule")
    parts = _split_line(line)
    names = ("type", "id")
    for n, tokens in enumerate(parts):
        if not tokens:
            what = names[n] if n < 2 else "attribute path part"
            raise ValueError(f"empty {what} (a `.` at the start, at the end or doubled)")
    if not _TYPE_CHARS.match(_text(parts[0])):
        raise ValueError(f"invalid resource type {_text(parts[0])!r}")
    rtype = _compile_part(parts[0])
    rid = _compile_part(parts[1]) if len(parts) > 1 else _Part("*", glob_regex("*"))
    path: PathPattern | None = None
    if len(parts) > 2:
        steps: list[str] = []
        for tokens in parts[2:]:
            text = _text(tokens)
            try:  # `ingress[0]` and `tags["a.b"]` inside a part
                steps.extend(split_path(text) if "[" in text else [text])
            except ValueError as exc:
                raise ValueError(f"invalid attribute path: {exc}") from None
        path = PathPattern(steps, ignore_case=True)
    return IgnoreRule(lineno, raw.rstrip("\r\n"), negate, rtype, rid, path)


class DriftIgnore:
    """The rules of one or more `.driftignore` files, in order (later lines win)."""

    def __init__(self, rules: Iterable[IgnoreRule] = (), source: str = ".driftignore") -> None:
        self.rules = list(rules)
        self.source = source
        self._resource_rules = [r for r in self.rules if r.path is None]
        self._path_rules = [r for r in self.rules if r.path is not None]
        self._by_type: dict[str, tuple[list[IgnoreRule], list[IgnoreRule]]] = {}

    def _for_type(self, rtype: str) -> tuple[list[IgnoreRule], list[IgnoreRule]]:
        """The resource rules and path rules whose type part matches `rtype`, in file order."""
        hit = self._by_type.get(rtype)
        if hit is None:
            hit = (
                [r for r in self._resource_rules if r.type.matches(rtype)],
                [r for r in self._path_rules if r.type.matches(rtype)],
            )
            self._by_type[rtype] = hit
        return hit

    @classmethod
    def parse(cls, text: str, source: str = ".driftignore") -> DriftIgnore:
        rules: list[IgnoreRule] = []
        for lineno, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                rules.append(_parse_rule(raw, lineno))
            except ValueError as exc:
                raise UsageError(f"line {lineno}: {exc}: {stripped!r}", source=source) from None
        return cls(rules, source)

    @classmethod
    def load(cls, path: str | Path) -> DriftIgnore:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError("ignore file not found", source=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read ignore file: {exc}", source=str(path)) from None
        return cls.parse(text, str(path))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def resource_rule(self, rtype: str, rid: str | None) -> IgnoreRule | None:
        """The last whole-resource rule matching `type.id` (negated or not), or None."""
        rid = rid or ""
        for rule in reversed(self._for_type(rtype)[0]):
            if rule.id.matches(rid):
                return rule
        return None

    def is_resource_ignored(self, rtype: str, rid: str | None) -> bool:
        rule = self.resource_rule(rtype, rid)
        return rule is not None and not rule.negate

    def ignored_paths(self, rtype: str, rid: str | None) -> list[str]:
        """The attribute path patterns to drop from this resource's changes, in file order.

        A negated line with the same path pattern that comes later takes a pattern back out.
        Match a change path against them with `paths.match_path(p, path, ignore_case=True)`,
        or call `is_path_ignored`, which also honours negations of narrower paths.
        """
        rid = rid or ""
        kept: dict[PathPattern, bool] = {}
        for rule in self._for_type(rtype)[1]:
            if rule.path is not None and rule.id.matches(rid):
                if rule.negate:
                    kept.pop(rule.path, None)
                else:
                    kept.setdefault(rule.path, True)
        return [p.text for p in kept]

    def path_rule(self, rtype: str, rid: str | None, path: str) -> IgnoreRule | None:
        """The last attribute rule matching this resource and change path, or None."""
        rules = self._for_type(rtype)[1] if self._path_rules else None
        if not rules:
            return None
        rid = rid or ""
        try:
            steps: tuple[str, ...] = split_path_cached(path)
        except ValueError:
            steps = (path,)
        for rule in reversed(rules):
            if rule.path is not None and rule.id.matches(rid) and rule.path.matches(steps):
                return rule
        return None

    def is_path_ignored(self, rtype: str, rid: str | None, path: str) -> bool:
        rule = self.path_rule(rtype, rid, path)
        return rule is not None and not rule.negate

    def filter_changes(self, rtype: str, rid: str | None, changes: Iterable[Change]) -> list[Change]:
        """The changes whose path no rule ignores."""
        return [c for c in changes if not self.is_path_ignored(rtype, rid, c.path)]

    def describe(self, rule: IgnoreRule) -> str:
        return f"{self.source}:{rule.line}"
