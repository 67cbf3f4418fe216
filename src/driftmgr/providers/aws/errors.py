"""One place that maps botocore errors to the provider error taxonomy (STYLE 10)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from driftmgr.providers.base import ErrorKind, ProviderError

_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "PriorRequestNotComplete",
}
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "OptInRequired",
}


def classify(exc: BaseException) -> tuple[ErrorKind, str]:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLED:
            return ErrorKind.throttled, f"throttled ({code})"
        if code in _DENIED or status == 403:
            return ErrorKind.denied, f"access denied ({code}): {message}"
        if "NotFound" in code or code.startswith("NoSuch") or status == 404:
            return ErrorKind.not_found, f"not found ({code}): {message}"
        if status is not None and int(status) >= 500:
            return ErrorKind.unavailable, f"service error {status} ({code})"
        return ErrorKind.error, f"{code}: {message}"
    if isinstance(exc, NoCredentialsError):
        return ErrorKind.denied, "no AWS credentials found (environment, profile, SSO or instance role)"
    if isinstance(exc, NoRegionError):
        return ErrorKind.error, "no AWS region configured (set AWS_REGION or pass --region)"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return ErrorKind.unavailable, f"endpoint unreachable: {exc}"
    if isinstance(exc, BotoCoreError):
        return ErrorKind.error, str(exc)
    return ErrorKind.error, f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn any botocore error raised inside into a ProviderError naming `what`."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        kind, message = classify(exc)
        raise ProviderError(kind, message, source=what) from exc
