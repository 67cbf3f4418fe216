"""The s3 backend against a real moto server: Terraform's layout, both lock kinds, versions, errors."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
import pytest
from botocore.stub import Stubber

from driftmgr.errors import AccessDeniedError, BackendError, LockError, StateNotFoundError, UsageError
from driftmgr.state.backends.base import get_backend, new_lock_info
from driftmgr.state.backends.s3 import S3Backend
from tests.fixtures.moto_server import AwsEnv, free_port, set_fake_aws_env, start_moto

pytestmark = pytest.mark.emulator

KEY = "network/terraform.tfstate"


def state(serial: int, lineage: str = "4f1e-lineage") -> bytes:
    return orjson.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.0",
            "serial": serial,
            "lineage": lineage,
            "outputs": {},
            "resources": [],
        }
    )


@pytest.fixture
def bucket(aws_env: AwsEnv) -> str:
    name = f"tfstate-{uuid.uuid4().hex[:12]}"
    aws_env.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def lock_table(aws_env: AwsEnv) -> str:
    name = "terraform-locks"
    aws_env.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def keys(aws_env: AwsEnv, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in aws_env.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def lock_item(aws_env: AwsEnv, table: str, lock_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        aws_env.client("dynamodb")
        .get_item(TableName=table, Key={"LockID": {"S": lock_id}}, ConsistentRead=True)
        .get("Item")
    )
    return item


# --- pull / push -------------------------------------------------------------------------------
def test_push_then_pull_round_trips_bytes_and_streams(aws_env: AwsEnv, bucket: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}")
    assert isinstance(backend, S3Backend)
    assert not backend.exists()
    data = state(1) + b" " * 300_000  # bigger than one read, to exercise streaming
    backend.write(data)
    assert backend.read() == data
    with backend.open() as fh:
        first = fh.read(1000)
        rest = fh.read()
    assert first + rest == data
    assert keys(aws_env, bucket) == [KEY]
    head = aws_env.client("s3").head_object(Bucket=bucket, Key=KEY)
    assert head["ContentType"] == "application/json"


def test_key_with_spaces_and_percent_round_trips(aws_env: AwsEnv, bucket: str) -> None:
    backend = get_backend(f"s3://{bucket}/my%20dir/a%25b.tfstate")
    backend.write(state(3))
    assert keys(aws_env, bucket) == ["my dir/a%b.tfstate"]
    assert backend.read() == state(3)


def test_encrypt_option_requests_server_side_encryption(aws_env: AwsEnv, bucket: str) -> None:
    get_backend(f"s3://{bucket}/{KEY}?encrypt=true").write(state(1))
    head = aws_env.client("s3").head_object(Bucket=bucket, Key=KEY)
    assert head["ServerSideEncryption"] == "AES256"


# --- workspaces --------------------------------------------------------------------------------
def test_workspaces_use_terraforms_key_layout(aws_env: AwsEnv, bucket: str) -> None:
    get_backend(f"s3://{bucket}/{KEY}").write(state(1))
    get_backend(f"s3://{bucket}/{KEY}?workspace=dev").write(state(2))
    get_backend(f"s3://{bucket}/{KEY}?workspace=prod").write(state(3))
    s3 = aws_env.client("s3")
    # Noise Terraform ignores: another key under a workspace, a lock file, a different root.
    s3.put_object(Bucket=bucket, Key="env:/stage/other/terraform.tfstate", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"env:/qa/{KEY}.tflock", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"elsewhere/dev/{KEY}", Body=b"{}")

    assert f"env:/dev/{KEY}" in keys(aws_env, bucket)
    assert f"env:/prod/{KEY}" in keys(aws_env, bucket)
    assert get_backend(f"s3://{bucket}/{KEY}?workspace=dev").read() == state(2)
    assert get_backend(f"s3://{bucket}/{KEY}").workspaces() == ["default", "dev", "prod"]


def test_custom_workspace_key_prefix(aws_env: AwsEnv, bucket: str) -> None:
    url = f"s3://{bucket}/{KEY}?workspace_key_prefix=workspaces"
    get_backend(f"{url}&workspace=blue").write(state(1))
    assert keys(aws_env, bucket) == [f"workspaces/blue/{KEY}"]
    assert get_backend(url).workspaces() == ["default", "blue"]
    assert get_backend(f"s3://{bucket}/{KEY}").workspaces() == ["default"]


# --- DynamoDB locking --------------------------------------------------------------------------
def test_dynamodb_lock_refuses_a_second_locker_and_reports_the_holder(
    aws_env: AwsEnv, bucket: str, lock_table: str
) -> None:
    url = f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}"
    first, second = get_backend(url), get_backend(url)
    info = new_lock_info("OperationTypeApply", "", info="first")
    lock_id = first.lock(info)
    assert lock_id == info.id

    item = lock_item(aws_env, lock_table, f"{bucket}/{KEY}")
    assert item is not None
    stored = orjson.loads(item["Info"]["S"])
    assert stored["ID"] == lock_id
    assert stored["Path"] == f"{bucket}/{KEY}"
    assert stored["Operation"] == "OperationTypeApply"

    with pytest.raises(LockError) as exc:
        second.lock(new_lock_info("OperationTypeApply", ""))
    assert exc.value.lock_info["ID"] == lock_id
    assert exc.value.lock_info["Info"] == "first"
    assert info.who in str(exc.value)
    assert lock_id in str(exc.value)

    first.unlock(lock_id)
    assert lock_item(aws_env, lock_table, f"{bucket}/{KEY}") is None
    second_id = second.lock(new_lock_info("OperationTypeApply", ""))
    second.unlock(second_id)


def test_unlock_with_a_wrong_id_is_refused_and_keeps_the_lock(
    aws_env: AwsEnv, bucket: str, lock_table: str
) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}")
    lock_id = backend.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError) as exc:
        backend.unlock("not-the-id")
    assert exc.value.lock_info["ID"] == lock_id
    assert lock_item(aws_env, lock_table, f"{bucket}/{KEY}") is not None
    # Another process may force-unlock with the right id (Terraform's force-unlock).
    get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}").unlock(lock_id)
    assert lock_item(aws_env, lock_table, f"{bucket}/{KEY}") is None
    with pytest.raises(LockError, match="no DynamoDB lock"):
        backend.unlock(lock_id)


def test_locked_write_needs_the_lock_id(aws_env: AwsEnv, bucket: str, lock_table: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}")
    lock_id = backend.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError):
        backend.write(state(1))
    backend.write(state(1), lock_id=lock_id)
    backend.unlock(lock_id)
    backend.write(state(2))
    assert backend.read() == state(2)


def test_workspace_lock_uses_the_workspace_key(aws_env: AwsEnv, bucket: str, lock_table: str) -> None:
    dev = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}&workspace=dev")
    lock_id = dev.lock(new_lock_info("OperationTypeApply", ""))
    assert lock_item(aws_env, lock_table, f"{bucket}/env:/dev/{KEY}") is not None
    # The default workspace is a different lock.
    default = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}")
    default.unlock(default.lock(new_lock_info("OperationTypeApply", "")))
    dev.unlock(lock_id)


def test_write_records_terraforms_md5_digest(aws_env: AwsEnv, bucket: str, lock_table: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}&workspace=dev")
    assert isinstance(backend, S3Backend)
    for serial in (1, 2):
        backend.write(state(serial))
        item = lock_item(aws_env, lock_table, f"{bucket}/env:/dev/{KEY}-md5")
        assert item is not None
        assert item["Digest"]["S"] == hashlib.md5(state(serial)).hexdigest()
    assert backend.stored_digest() == hashlib.md5(state(2)).hexdigest()


def test_missing_dynamodb_table_is_a_clean_error(aws_env: AwsEnv, bucket: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table=nope")
    with pytest.raises(BackendError, match="DynamoDB table 'nope' does not exist"):
        backend.lock(new_lock_info("OperationTypeApply", ""))


# --- S3-native lock file -----------------------------------------------------------------------
def test_lock_file_refuses_a_second_locker(aws_env: AwsEnv, bucket: str) -> None:
    url = f"s3://{bucket}/{KEY}?use_lockfile=true&workspace=dev"
    first, second = get_backend(url), get_backend(url)
    lock_id = first.lock(new_lock_info("OperationTypeApply", "", info="holder"))
    lock_key = f"env:/dev/{KEY}.tflock"
    assert lock_key in keys(aws_env, bucket)
    body = aws_env.client("s3").get_object(Bucket=bucket, Key=lock_key)["Body"].read()
    assert orjson.loads(body)["ID"] == lock_id

    with pytest.raises(LockError) as exc:
        second.lock(new_lock_info("OperationTypeApply", ""))
    assert exc.value.lock_info["ID"] == lock_id
    assert exc.value.lock_info["Info"] == "holder"
    with pytest.raises(LockError):
        second.unlock("wrong")
    assert lock_key in keys(aws_env, bucket)

    first.unlock(lock_id)
    assert lock_key not in keys(aws_env, bucket)
    second.unlock(second.lock(new_lock_info("OperationTypeApply", "")))


def test_both_locks_together_and_no_half_lock_left(aws_env: AwsEnv, bucket: str, lock_table: str) -> None:
    url = f"s3://{bucket}/{KEY}?use_lockfile=true&dynamodb_table={lock_table}"
    backend = get_backend(url)
    lock_id = backend.lock(new_lock_info("OperationTypeApply", ""))
    assert f"{KEY}.tflock" in keys(aws_env, bucket)
    assert lock_item(aws_env, lock_table, f"{bucket}/{KEY}") is not None
    backend.unlock(lock_id)
    assert f"{KEY}.tflock" not in keys(aws_env, bucket)
    assert lock_item(aws_env, lock_table, f"{bucket}/{KEY}") is None

    # Someone holds only the DynamoDB lock (e.g. a Terraform < 1.10 user): our lock file is rolled back.
    other = get_backend(f"s3://{bucket}/{KEY}?dynamodb_table={lock_table}")
    other_id = other.lock(new_lock_info("OperationTypeApply", ""))
    with pytest.raises(LockError) as exc:
        backend.lock(new_lock_info("OperationTypeApply", ""))
    assert exc.value.lock_info["ID"] == other_id
    assert f"{KEY}.tflock" not in keys(aws_env, bucket)
    other.unlock(other_id)


def test_without_lock_options_locking_is_a_no_op_like_terraform(aws_env: AwsEnv, bucket: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}")
    lock_id = backend.lock(new_lock_info("OperationTypeApply", ""))
    backend.write(state(1), lock_id=lock_id)
    backend.unlock(lock_id)
    assert keys(aws_env, bucket) == [KEY]


# --- versions ----------------------------------------------------------------------------------
def test_versions_newest_first_and_readable(aws_env: AwsEnv, bucket: str) -> None:
    aws_env.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    backend = get_backend(f"s3://{bucket}/{KEY}")
    for serial in (1, 2, 3):
        backend.write(state(serial))
    get_backend(f"s3://{bucket}/{KEY}.backup").write(state(99))  # same prefix, other key

    versions = backend.versions()
    assert len(versions) == 3
    assert [v.current for v in versions] == [True, False, False]
    assert [backend.read_version(v.id) for v in versions] == [state(3), state(2), state(1)]
    assert all(v.size == len(state(1)) for v in versions)
    assert all(v.created for v in versions)
    with pytest.raises(StateNotFoundError):
        backend.read_version("no-such-version")


def test_versions_need_bucket_versioning(aws_env: AwsEnv, bucket: str) -> None:
    backend = get_backend(f"s3://{bucket}/{KEY}")
    backend.write(state(1))
    with pytest.raises(BackendError, match="versioning is not enabled"):
        backend.versions()


# --- listing -----------------------------------------------------------------------------------
def test_list_states_paginates_and_keeps_connection_options(aws_env: AwsEnv, bucket: str) -> None:
    s3 = aws_env.client("s3")
    wanted = [f"stacks/app{i}/terraform.tfstate" for i in range(5)] + ["stacks/env:/dev/x.tfstate"]
    for k in [*wanted, "stacks/app0/terraform.tfstate.backup", "stacks/notes.txt", "other/z.tfstate"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"{}")
    backend = get_backend(f"s3://{bucket}/stacks/?region=us-east-1&workspace=dev&dynamodb_table=t")
    assert isinstance(backend, S3Backend)
    backend.page_size = 2
    listed = backend.list_states()
    assert listed == [f"s3://{bucket}/{k}?region=us-east-1" for k in sorted(wanted)]
    # Every listed URL opens.
    assert get_backend(listed[0]).read() == b"{}"
    assert len(get_backend(f"s3://{bucket}").list_states()) == len(wanted) + 1


# --- errors ------------------------------------------------------------------------------------
def test_missing_bucket_is_state_not_found_naming_the_url(aws_env: AwsEnv) -> None:
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/{KEY}"
    with pytest.raises(StateNotFoundError) as exc:
        get_backend(url).read()
    assert url in str(exc.value)
    assert "does not exist" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_key_is_state_not_found_naming_the_url(aws_env: AwsEnv, bucket: str) -> None:
    url = f"s3://{bucket}/{KEY}?workspace=dev"
    with pytest.raises(StateNotFoundError) as exc:
        get_backend(url).read()
    assert url in str(exc.value)
    assert f"env:/dev/{KEY}" in str(exc.value)
    assert not get_backend(url).exists()


def test_url_without_key_or_bucket_is_a_usage_error(aws_env: AwsEnv, bucket: str) -> None:
    with pytest.raises(UsageError):
        get_backend("s3:///key")
    with pytest.raises(UsageError):
        get_backend(f"s3://{bucket}/").read()
    with pytest.raises(UsageError):
        get_backend(f"s3://{bucket}/k?max_retries=lots")


def test_denied_credentials_from_an_enforcing_moto_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    server = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})  # every request is authenticated
    try:
        set_fake_aws_env(monkeypatch, server.endpoint, tmp_path)
        backend = get_backend(f"s3://some-bucket/{KEY}")
        with pytest.raises(AccessDeniedError) as exc:
            backend.read()
        assert "access denied" in str(exc.value)
        with pytest.raises(AccessDeniedError):
            backend.write(state(1))
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, AccessDeniedError),
        ("ExpiredToken", 400, AccessDeniedError),
        ("NoSuchBucket", 404, StateNotFoundError),
        ("NoSuchKey", 404, StateNotFoundError),
        ("SlowDown", 503, BackendError),
    ],
)
def test_error_mapping_with_stubber(aws_env: AwsEnv, code: str, status: int, expected: type) -> None:
    backend = get_backend(f"s3://bucket-x/{KEY}")
    assert isinstance(backend, S3Backend)
    with Stubber(backend.s3) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as exc:
            backend.read()
    assert type(exc.value) is expected
    assert f"s3://bucket-x/{KEY}" in str(exc.value)


def test_unreachable_endpoint_is_a_backend_error_naming_it(
    aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    with pytest.raises(BackendError) as exc:
        get_backend(f"s3://bucket-y/{KEY}?max_retries=0").read()
    assert dead in str(exc.value)
    assert "s3://bucket-y/" in str(exc.value)
    assert type(exc.value) is BackendError


def test_unknown_profile_is_a_usage_error(aws_env: AwsEnv) -> None:
    with pytest.raises(UsageError, match="nope"):
        get_backend(f"s3://bucket-z/{KEY}?profile=nope").read()
