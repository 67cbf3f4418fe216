"""Secrets from environment variables (development): `name` → `DRIFTMGR_SECRET_<NAME>`.

The name is upper-cased and every character other than a letter or digit becomes `_`:
`aws/prod#key` reads `DRIFTMGR_SECRET_AWS_PROD` as a JSON object and returns its `key`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from driftmgr.platform.secrets.base import Secret, SecretNotFoundError, pick_key, split_name

PREFIX = "DRIFTMGR_SECRET_"


def variable_for(path: str) -> str:
    return PREFIX + re.sub(r"[^A-Z0-9]", "_", path.upper())


class EnvSecretStore:
    name = "env"

    def __init__(self, environ: Mapping[str, str] | None = None, *, prefix: str = "") -> None:
        self._environ = environ if environ is not None else os.environ
        self.prefix = prefix

    def get(self, name: str) -> Secret:
        path, key = split_name(self.prefix + name)
        var = variable_for(path)
        raw = self._environ.get(var)
        if raw is None:
            raise SecretNotFoundError(f"no such secret (set {var})", source=name)
        return pick_key(raw, key, source=name)
