"""The error taxonomy shared by every layer.

Every error a user can cause (bad input, a wrong URL, a denied credential) is a `DriftMgrError`
whose message is one line naming the input and what is wrong. The CLI prints exactly that line
and exits 1; the API turns it into `{"error": {"code", "message"}}`.
"""

from __future__ import annotations


class DriftMgrError(Exception):
    """Base class: `str(err)` is the one line shown to the user."""

    code = "error"

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class StateError(DriftMgrError):
    """A state file that cannot be read as a Terraform state."""

    code = "invalid_state"


class StateFormatError(StateError):
    """Not JSON, truncated, wrong types, unknown version: the content is bad."""

    code = "invalid_state"

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, column: int | None = None
    ) -> None:
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None and column is not None else ""
        super().__init__(f"{message}{where}", source=source)


class BackendError(DriftMgrError):
    """A state backend failed: unreachable, denied, missing object."""

    code = "backend_error"


class StateNotFoundError(BackendError):
    code = "not_found"


class AccessDeniedError(BackendError):
    code = "access_denied"


class LockError(BackendError):
    """The state is locked by someone else, or a lock could not be taken/released."""

    code = "locked"

    def __init__(
        self, message: str, *, source: str | None = None, lock_info: dict[str, object] | None = None
    ):
        self.lock_info = lock_info or {}
        super().__init__(message, source=source)


class ConflictError(DriftMgrError):
    """An operation refused because it would overwrite something (e.g. lineage mismatch)."""

    code = "conflict"


class UsageError(DriftMgrError):
    """Bad arguments: an unknown URL scheme, a missing option value."""

    code = "usage"


class UnsupportedRemediation(DriftMgrError):
    """A remediation the chosen method cannot perform; the message names the type and attribute."""

    code = "unsupported_remediation"

    def __init__(
        self, message: str, *, tf_type: str | None = None, path: str | None = None, source: str | None = None
    ) -> None:
        self.tf_type = tf_type
        self.path = path
        super().__init__(message, source=source)


class RemediationError(DriftMgrError):
    """A remediation step failed (a Terraform command, a file write, a refused rollback)."""

    code = "remediation_failed"
