"""`--filter`: a JMESPath expression over each resource; resources for which it is truthy are kept.

The expression sees `{"type", "id", "attributes"}` (attributes in Terraform's names: the state's
for resources in a state, the live ones for unmanaged resources), plus driftctl's spellings
`Type`, `Id` and `Attr` so its filters work unchanged:

    type == 'aws_s3_bucket' && starts_with(id, 'logs-')
    attributes.tags.env == 'prod'
    Type=='aws_iam_user' && Attr.name=='ci'

Truthiness is JMESPath's: false, null, "", [] and {} drop the resource; 0 keeps it. A function
that receives the wrong type for one resource (`contains(attributes.tags.Name, 'x')` where there
are no tags) drops that resource instead of failing the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath import exceptions as jexc
from jmespath.parser import ParsedResult

from driftmgr.errors import UsageError


def _truthy(value: Any) -> bool:
    """JMESPath's truth: numbers (0 too) are true; false, null and empty strings/arrays/objects are not."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) > 0
    return True


def _explain(exc: Exception) -> str:
    """jmespath's multi-line message as one line: what is wrong and where."""
    if isinstance(exc, jexc.LexerError):
        return f"{exc.message} at character {exc.lexer_position + 1}"
    if isinstance(exc, jexc.IncompleteExpressionError):
        return "the expression is incomplete"
    if isinstance(exc, jexc.ParseError) and not isinstance(exc, jexc.ArityError):
        token = f" {exc.token_value!r}" if exc.token_value is not None else ""
        return f"unexpected token{token} at character {exc.lex_position + 1}"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ResourceFilter:
    """A compiled `--filter` expression."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        if not expression.strip():
            raise UsageError("--filter: the expression is empty")
        try:
            self._compiled: ParsedResult = jmespath.compile(expression)
            # Unknown functions and wrong argument counts only show when evaluated.
            self._compiled.search(self._document("", "", {}))
        except jexc.JMESPathTypeError:
            pass
        except jexc.JMESPathError as exc:
            why = _explain(exc)
            raise UsageError(f"--filter: invalid JMESPath expression {expression!r}: {why}") from None

    @staticmethod
    def _document(rtype: str, rid: str | None, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        attrs = attributes if isinstance(attributes, dict) else dict(attributes or {})
        return {"type": rtype, "id": rid, "attributes": attrs, "Type": rtype, "Id": rid, "Attr": attrs}

    def matches(self, rtype: str, rid: str | None, attributes: Mapping[str, Any] | None = None) -> bool:
        try:
            return _truthy(self._compiled.search(self._document(rtype, rid, attributes)))
        except jexc.JMESPathTypeError:
            return False

    def __repr__(self) -> str:
        return f"ResourceFilter({self.expression!r})"
