"""AWS Secrets Manager through boto3 (credentials and endpoint from the standard chain)."""

from __future__ import annotations

from typing import Any

from driftmgr.errors import AccessDeniedError, BackendError
from driftmgr.platform.secrets.base import Secret, SecretNotFoundError, pick_key, split_name


class AwsSecretStore:
    name = "aws"

    def __init__(self, *, region: str | None = None, client: Any = None, prefix: str = "") -> None:
        self.region = region
        self.prefix = prefix
        self._client = client

    def __repr__(self) -> str:
        return f"AwsSecretStore(region={self.region!r})"

    def _sm(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session(region_name=self.region).client("secretsmanager")
        return self._client

    def get(self, name: str) -> Secret:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        path, key = split_name(self.prefix + name)
        where = f"aws-secretsmanager:{path}"
        try:
            resp = self._sm().get_secret_value(SecretId=path)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFoundException",):
                raise SecretNotFoundError("no such secret", source=where) from None
            if code in ("AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"):
                raise AccessDeniedError(f"AWS denied reading the secret ({code})", source=where) from None
            raise BackendError(f"Secrets Manager answered {code or 'an error'}", source=where) from None
        except NoCredentialsError:
            raise AccessDeniedError("no AWS credentials found", source=where) from None
        except BotoCoreError as exc:
            raise BackendError(f"cannot reach Secrets Manager: {type(exc).__name__}", source=where) from None
        raw = resp.get("SecretString")
        if raw is None:
            blob = resp.get("SecretBinary")
            raw = blob.decode("utf-8", "replace") if isinstance(blob, bytes | bytearray) else None
        if raw is None:
            raise SecretNotFoundError("the secret has no value", source=where)
        return pick_key(str(raw), key, source=where)
