"""Secret wrapper, environment store, AWS Secrets Manager (moto server), the factory."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import pytest

from driftmgr.config import Settings
from driftmgr.errors import AccessDeniedError, UsageError
from driftmgr.platform.secrets import Secret, SecretNotFoundError, SecretStore, build_secret_store
from driftmgr.platform.secrets.aws import AwsSecretStore
from driftmgr.platform.secrets.env import EnvSecretStore, variable_for
from tests.fixtures.moto_server import AwsEnv

VALUE = "hunter2-very-secret"


def test_a_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret(VALUE)
    assert s.reveal() == VALUE
    percent = "%s" % (s,)  # noqa: UP031 - logging formats this way
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>30}", percent, repr([s]), repr({"k": s})):
        assert VALUE not in shown
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("t").info("secret is %s / %r", s, s)
    assert VALUE not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"v": s})
    assert s == Secret(VALUE) and s != Secret("other") and len(s) == len(VALUE)


def test_env_store() -> None:
    env = {variable_for("db-password"): VALUE, variable_for("aws/prod"): json.dumps({"key": "AKIA", "n": 1})}
    store = EnvSecretStore(env)
    assert isinstance(store, SecretStore)
    assert store.get("db-password").reveal() == VALUE
    assert variable_for("db-password") == "DRIFTMGR_SECRET_DB_PASSWORD"
    assert store.get("aws/prod#key").reveal() == "AKIA"
    assert store.get("aws/prod#n").reveal() == "1"
    with pytest.raises(SecretNotFoundError, match="DRIFTMGR_SECRET_MISSING"):
        store.get("missing")
    with pytest.raises(SecretNotFoundError, match="no key 'nope'"):
        store.get("aws/prod#nope")
    with pytest.raises(SecretNotFoundError, match="not a JSON object") as err:
        store.get("db-password#k")
    assert VALUE not in str(err.value)
    for bad in ("", "#k", "a#", "a\nb"):
        with pytest.raises(UsageError):
            store.get(bad)


def test_env_store_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTMGR_SECRET_PROD_DB", VALUE)
    assert EnvSecretStore(prefix="prod/").get("db").reveal() == VALUE


def test_aws_secrets_manager(aws_env: AwsEnv) -> None:
    sm = aws_env.client("secretsmanager")
    sm.create_secret(Name="driftmgr/db", SecretString=VALUE)
    sm.create_secret(Name="driftmgr/azure", SecretString=json.dumps({"client_secret": "cs-1"}))
    sm.create_secret(Name="driftmgr/bin", SecretBinary=b"binary-value")
    store = AwsSecretStore(region=aws_env.region, prefix="driftmgr/")
    assert store.get("db").reveal() == VALUE
    assert store.get("azure#client_secret").reveal() == "cs-1"
    assert store.get("bin").reveal() == "binary-value"
    with pytest.raises(SecretNotFoundError, match="aws-secretsmanager:driftmgr/missing: no such secret"):
        store.get("missing")
    assert VALUE not in repr(store)


def test_aws_denied_is_access_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    class Denying:
        def get_secret_value(self, **kw: object) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetSecretValue")

    with pytest.raises(AccessDeniedError, match="AccessDeniedException"):
        AwsSecretStore(client=Denying()).get("x")


def test_factory(tmp_path: Path) -> None:
    assert build_secret_store(Settings(data_dir=tmp_path)).name == "env"
    assert build_secret_store(Settings(data_dir=tmp_path, secrets_backend="aws")).name == "aws"
    with pytest.raises(UsageError, match="DRIFTMGR_VAULT_URL"):
        build_secret_store(Settings(data_dir=tmp_path, secrets_backend="vault"))
    with pytest.raises(UsageError, match="DRIFTMGR_AZURE_VAULT_URL"):
        build_secret_store(Settings(data_dir=tmp_path, secrets_backend="azure"))
    v = build_secret_store(
        Settings(data_dir=tmp_path, secrets_backend="vault", vault_url="https://vault:8200")
    )
    assert v.name == "vault"
    a = build_secret_store(
        Settings(data_dir=tmp_path, secrets_backend="azure", azure_vault_url="https://kv.vault.azure.net")
    )
    assert a.name == "azure"
