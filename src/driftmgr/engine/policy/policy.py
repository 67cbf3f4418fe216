"""The YAML policy file: rules that ignore drift or set its severity (docs/policy.md).

    version: 1
    rules:
      - name: autoscaling changes desired_capacity itself
        type: aws_autoscaling_group
        path: desired_capacity
        action: ignore
      - name: anything touching prod IAM is critical
        type: "aws_iam_*"
        tags: {env: prod}
        severity: critical

A rule matches when every matcher it has matches (`type`, `address`, `id`, `provider` and `path`
are globs with `*`/`?`; `tags` maps keys to value globs; `status` is a status or a list). The
first matching rule wins:
- for the whole resource (ignore it, or the severity of a missing/unmanaged one), among the rules
  without `path`;
- for each attribute change, among all rules (a rule without `path` covers every path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from driftmgr.engine.policy.paths import PathPattern, glob_match, split_path, split_path_cached
from driftmgr.errors import UsageError

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["in_sync", "drifted", "missing", "unmanaged", "unsupported"]


class PolicyRule(BaseModel):
    """One rule of a policy file, validated at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    type: str | None = None
    address: str | None = None
    id: str | None = None
    provider: str | None = None
    path: str | None = None
    tags: dict[str, str] | None = None
    status: list[Status] | None = None
    action: Literal["ignore"] | None = None
    severity: Severity | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _one_status(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_as_text(cls, v: Any) -> Any:
        if isinstance(v, dict):  # YAML reads `env: 1` or `public: true` as non-strings
            return {str(k): (str(x).lower() if isinstance(x, bool) else str(x)) for k, x in v.items()}
        return v

    @field_validator("path")
    @classmethod
    def _readable_path(cls, v: str | None) -> str | None:
        if v is not None:
            split_path(v)  # ValueError → a validation error naming the field
        return v

    @model_validator(mode="after")
    def _one_outcome(self) -> PolicyRule:
        if (self.action is None) == (self.severity is None):
            raise ValueError("a rule needs exactly one of `action: ignore` or `severity: <level>`")
        return self

    @property
    def label(self) -> str:
        return self.name or ""


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    rules: list[PolicyRule] = Field(default_factory=list)


@dataclass(slots=True)
class Subject:
    """What a rule looks at: one resource of a drift report."""

    type: str
    id: str | None = None
    address: str | None = None
    provider: str | None = None
    status: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of the first matching rule."""

    action: Literal["ignore", "severity"]
    severity: str | None
    index: int  # 0-based position of the rule in `rules`
    rule: PolicyRule

    def describe(self, source: str) -> str:
        name = f" ({self.rule.name})" if self.rule.name else ""
        return f"{source}: rules[{self.index}]{name}"


class Policy:
    """A validated policy file."""

    def __init__(self, rules: list[PolicyRule] | None = None, source: str = "policy") -> None:
        self.rules = list(rules or [])
        self.source = source
        self._paths = [PathPattern.parse(r.path) if r.path else None for r in self.rules]
        self._by_type: dict[str, list[int]] = {}

    def _for_type(self, rtype: str) -> list[int]:
        """Indexes of the rules whose `type` matcher (if any) matches `rtype`, in order."""
        hit = self._by_type.get(rtype)
        if hit is None:
            hit = [i for i, r in enumerate(self.rules) if r.type is None or glob_match(r.type, rtype)]
            self._by_type[rtype] = hit
        return hit

    @classmethod
    def parse(cls, text: str, source: str = "policy") -> Policy:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise UsageError(f"{where}invalid YAML: {problem}", source=source) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise UsageError("a policy file must be a mapping with a `rules` list", source=source)
        try:
            doc = PolicyFile.model_validate(data)
        except ValidationError as exc:
            raise UsageError(_describe_error(exc, text), source=source) from None
        return cls(doc.rules, source)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError("policy file not found", source=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read policy file: {exc}", source=str(path)) from None
        return cls.parse(text, str(path))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def _matches(self, rule: PolicyRule, s: Subject) -> bool:
        """The matchers other than `type` (see `_for_type`) and `path`."""
        if rule.id is not None and not glob_match(rule.id, s.id or ""):
            return False
        if rule.address is not None and (s.address is None or not glob_match(rule.address, s.address)):
            return False
        if rule.provider is not None and not glob_match(rule.provider, s.provider or ""):
            return False
        if rule.status is not None and s.status not in rule.status:
            return False
        if rule.tags:
            for key, value_glob in rule.tags.items():
                value = s.tags.get(key) if s.tags else None
                if value is None or not glob_match(value_glob, str(value)):
                    return False
        return True

    def resource_decision(self, subject: Subject) -> Decision | None:
        """The first rule without `path` that matches the resource, as a decision."""
        for i in self._for_type(subject.type):
            rule = self.rules[i]
            if self._paths[i] is None and self._matches(rule, subject):
                return _decision(i, rule)
        return None

    def change_decision(self, subject: Subject, path: str) -> Decision | None:
        """The first rule that matches the resource and covers the change path."""
        steps: tuple[str, ...] | None = None
        for i in self._for_type(subject.type):
            rule = self.rules[i]
            pattern = self._paths[i]
            if pattern is not None:
                if steps is None:
                    try:
                        steps = split_path_cached(path)
                    except ValueError:
                        steps = (path,)
                if not pattern.matches(steps):
                    continue
            if self._matches(rule, subject):
                return _decision(i, rule)
        return None


def _decision(index: int, rule: PolicyRule) -> Decision:
    if rule.action == "ignore":
        return Decision("ignore", None, index, rule)
    return Decision("severity", rule.severity, index, rule)


def _rule_lines(text: str) -> list[int]:
    """1-based line of each item of the top-level `rules` list (empty when not found)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _describe_error(exc: ValidationError, text: str) -> str:
    """One line naming the first problem: `rules[2] (line 14): severity: Input should be …`."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        lines = _rule_lines(text)
        where = f"rules[{index}]" + (f" (line {lines[index]})" if index < len(lines) else "")
        fields = [str(p) for p in loc[2:] if not str(p).startswith("literal[")]
        field_name = ".".join(fields) if fields else None
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        return f"{where}: {field_name + ': ' if field_name else ''}{msg}{more}"
    path = ".".join(str(p) for p in loc) or "document"
    return f"{path}: {msg}"
