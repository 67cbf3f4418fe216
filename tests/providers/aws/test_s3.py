"""S3 buckets and their sub-resources: discovery reproduces the real Terraform state, lists each bucket
in its own region only, reports settings made by hand as unmanaged, flags S3's own defaults, and reads
live values (one terraform apply for the module)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.aws.resources.s3 import buckets
from driftmgr.providers.base import Scope
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

S3_TYPES = [
    "aws_s3_bucket",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_lifecycle_configuration",
]
REGIONS = ["us-east-1", "eu-west-1"]
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

# The lifecycle `and { tags }` filter is left out: moto answers it in a shape the provider's
# create waiter never accepts (the apply times out).
CONFIG = """
provider "aws" {
  alias                       = "eu"
  region                      = "eu-west-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
    s3  = "@ENDPOINT@"
    sts = "@ENDPOINT@"
  }
}

resource "aws_s3_bucket" "data" {
  for_each = toset(["alpha", "beta"])
  bucket   = "dm-data-${each.key}"
  tags     = { env = "test", name = each.key }
}
resource "aws_s3_bucket" "plain" {
  bucket        = "dm-plain"
  force_destroy = true
  tags          = { env = "test" }
}
resource "aws_s3_bucket" "eu" {
  provider = aws.eu
  bucket   = "dm-eu-bucket"
  tags     = { region = "eu" }
}
resource "aws_s3_bucket_versioning" "data" {
  for_each = aws_s3_bucket.data
  bucket   = each.value.id
  versioning_configuration {
    status = each.key == "alpha" ? "Enabled" : "Suspended"
  }
}
resource "aws_s3_bucket_versioning" "eu" {
  provider = aws.eu
  bucket   = aws_s3_bucket.eu.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_policy" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecure"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.data["alpha"].arn, "${aws_s3_bucket.data["alpha"].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
resource "aws_s3_bucket_public_access_block" "data" {
  for_each                = aws_s3_bucket.data
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = each.key == "alpha"
  restrict_public_buckets = false
}
resource "aws_s3_bucket_server_side_encryption_configuration" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = "@KMS_KEY@"
    }
    bucket_key_enabled = true
  }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "beta" {
  bucket = aws_s3_bucket.data["beta"].id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
    bucket_key_enabled = true
  }
}
resource "aws_s3_bucket_lifecycle_configuration" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  rule {
    id     = "logs"
    status = "Enabled"
    filter { prefix = "logs/" }
    expiration { days = 90 }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    noncurrent_version_expiration { noncurrent_days = 60 }
  }
  rule {
    id     = "tmp"
    status = "Disabled"
    filter { prefix = "tmp/" }
    abort_incomplete_multipart_upload { days_after_initiation = 7 }
    expiration { days = 3 }
  }
}
resource "aws_s3_bucket_lifecycle_configuration" "beta" {
  bucket = aws_s3_bucket.data["beta"].id
  rule {
    id     = "all"
    status = "Enabled"
    filter {}
    expiration { days = 365 }
  }
}
"""


@pytest.fixture(scope="module")
def applied(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One apply for the module; the tests below share it (the last one changes things)."""
    tmp = tmp_path_factory.mktemp("s3")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        config = CONFIG.replace("@ENDPOINT@", moto_server.endpoint).replace("@KMS_KEY@", KMS_KEY)
        yield terraform.apply(tmp / "tf", config, moto_server.endpoint)


def _ids(result: Any, tf_type: str) -> set[str]:
    return {r.id for r in result.resources if r.type == tf_type}


def test_s3_types_match_terraform_state(applied: dict[str, Any]) -> None:
    result = AwsProvider().discover(types=S3_TYPES, regions=REGIONS)
    for tf_type in S3_TYPES:
        assert_discovered_matches_state(result, applied, tf_type)
    found = by_key(result)
    eu = found[("aws_s3_bucket", "dm-eu-bucket")]
    assert eu.region == "eu-west-1"
    assert eu.attributes["bucket_regional_domain_name"] == "dm-eu-bucket.s3.eu-west-1.amazonaws.com"
    assert found[("aws_s3_bucket", "dm-data-alpha")].attributes["tags"] == {"env": "test", "name": "alpha"}
    beta = found[("aws_s3_bucket_versioning", "dm-data-beta")]
    assert beta.attributes["versioning_configuration"] == [{"status": "Suspended", "mfa_delete": ""}]
    rules = found[("aws_s3_bucket_lifecycle_configuration", "dm-data-alpha")].attributes["rule"]
    assert [r["id"] for r in rules] == ["logs", "tmp"]
    assert rules[0]["transition"] == [{"date": None, "days": 30, "storage_class": "STANDARD_IA"}]
    assert rules[1]["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    # Untouched: nothing unmanaged. The never-versioned bucket's "Disabled" versioning is a default.
    managed = {(i["type"], i["attributes"]["id"]) for i in state_instances(applied)}
    extra = {(r.type, r.id): r.default_reason for r in result.resources if r.key not in managed}
    assert extra == {("aws_s3_bucket_versioning", "dm-plain"): "versioning never enabled (S3 default)"}


def test_s3_reports_each_bucket_only_in_its_own_region(applied: dict[str, Any]) -> None:
    types = ["aws_s3_bucket", "aws_s3_bucket_versioning"]
    home = AwsProvider().discover(types=types, regions=["us-east-1"])
    assert _ids(home, "aws_s3_bucket") == {"dm-data-alpha", "dm-data-beta", "dm-plain"}
    assert {r.region for r in home.resources} == {"us-east-1"}
    eu = AwsProvider().discover(types=types, regions=["eu-west-1"])
    assert {(r.type, r.id, r.region) for r in eu.resources} == {
        ("aws_s3_bucket", "dm-eu-bucket", "eu-west-1"),
        ("aws_s3_bucket_versioning", "dm-eu-bucket", "eu-west-1"),
    }


def test_s3_settings_made_by_hand_are_unmanaged_and_s3_defaults_flagged(applied: dict[str, Any]) -> None:
    s3 = boto3.client("s3")
    # A hand-made bucket with what S3 itself puts on every new bucket (SSE-S3, Block Public Access).
    s3.create_bucket(Bucket="dm-hand")
    s3.put_public_access_block(
        Bucket="dm-hand",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket="dm-hand",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    # Settings added by hand to buckets Terraform manages.
    hand_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::dm-data-beta/*"}
        ],
    }  # fmt: skip
    s3.put_bucket_policy(Bucket="dm-data-beta", Policy=json.dumps(hand_policy))
    s3.put_bucket_versioning(Bucket="dm-plain", VersioningConfiguration={"Status": "Enabled"})

    found = by_key(AwsProvider().discover(types=S3_TYPES, regions=REGIONS))
    bucket = found[("aws_s3_bucket", "dm-hand")]
    assert not bucket.default and bucket.attributes["tags"] == {} and bucket.region == "us-east-1"
    assert found[("aws_s3_bucket_public_access_block", "dm-hand")].default_reason == (
        "Block Public Access all on (S3 default for new buckets)"
    )
    assert found[("aws_s3_bucket_server_side_encryption_configuration", "dm-hand")].default_reason == (
        "SSE-S3 default encryption (S3 default for every bucket)"
    )
    assert found[("aws_s3_bucket_versioning", "dm-hand")].default_reason == (
        "versioning never enabled (S3 default)"
    )
    assert ("aws_s3_bucket_policy", "dm-hand") not in found
    assert ("aws_s3_bucket_lifecycle_configuration", "dm-hand") not in found
    policy = found[("aws_s3_bucket_policy", "dm-data-beta")]
    assert not policy.default and json.loads(policy.attributes["policy"]) == hand_policy
    versioning = found[("aws_s3_bucket_versioning", "dm-plain")]
    assert not versioning.default
    assert versioning.attributes["versioning_configuration"] == [{"status": "Enabled", "mfa_delete": ""}]


def test_s3_out_of_band_changes_show_live_values(applied: dict[str, Any]) -> None:
    s3 = boto3.client("s3")
    s3.put_bucket_tagging(Bucket="dm-data-alpha", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    boto3.client("s3", region_name="eu-west-1").put_bucket_versioning(
        Bucket="dm-eu-bucket", VersioningConfiguration={"Status": "Suspended"}
    )
    new_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Other", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                       "Resource": "arn:aws:s3:::dm-data-alpha/*"}],
    }  # fmt: skip
    s3.put_bucket_policy(Bucket="dm-data-alpha", Policy=json.dumps(new_policy))
    s3.put_public_access_block(
        Bucket="dm-data-beta",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.put_bucket_encryption(
        Bucket="dm-data-beta",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}}
            ]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="dm-data-beta",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30}}
            ]
        },
    )

    found = by_key(AwsProvider().discover(types=S3_TYPES, regions=REGIONS))
    state = {(i["type"], i["attributes"]["id"]): i["attributes"] for i in state_instances(applied)}

    def changed(key: tuple[str, str], path: str) -> tuple[Any, Any]:
        live, expected = found[key].attributes[path], state[key][path]
        assert live != expected, f"{key} {path} still shows the state's value"
        return live, expected

    assert changed(("aws_s3_bucket", "dm-data-alpha"), "tags")[0] == {"env": "prod"}
    live, _ = changed(("aws_s3_bucket_versioning", "dm-eu-bucket"), "versioning_configuration")
    assert live[0]["status"] == "Suspended"
    live, _ = changed(("aws_s3_bucket_policy", "dm-data-alpha"), "policy")
    assert json.loads(live) == new_policy
    pab = found[("aws_s3_bucket_public_access_block", "dm-data-beta")]
    assert pab.attributes["block_public_acls"] is False and pab.attributes["block_public_policy"] is False
    assert not pab.default
    live, _ = changed(("aws_s3_bucket_server_side_encryption_configuration", "dm-data-beta"), "rule")
    assert live[0]["apply_server_side_encryption_by_default"] == [
        {"sse_algorithm": "aws:kms", "kms_master_key_id": KMS_KEY}
    ]
    assert live[0]["bucket_key_enabled"] is False  # state: True
    live, _ = changed(("aws_s3_bucket_lifecycle_configuration", "dm-data-beta"), "rule")
    assert live[0]["expiration"][0]["days"] == 30


def test_bucket_listing_trusts_bucket_region_and_follows_pages() -> None:
    """Real S3 returns BucketRegion: no GetBucketLocation per bucket, and every page is read (moto
    neither pages nor returns BucketRegion, so this is proven against botocore's Stubber)."""
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response(
        "list_buckets",
        {"Buckets": [{"Name": "a", "BucketRegion": "eu-west-1"}], "ContinuationToken": "t1"},
        {"BucketRegion": "eu-west-1"},
    )
    stub.add_response(
        "list_buckets",
        {"Buckets": [{"Name": "b", "BucketRegion": "eu-west-1"}, {"Name": "c", "BucketRegion": "us-east-1"}]},
        {"BucketRegion": "eu-west-1", "ContinuationToken": "t1"},
    )
    scope = Scope("aws", "123456789012", "eu-west-1", lambda _service: client)
    with stub:
        names = [b["Name"] for b in buckets(scope)]
    stub.assert_no_pending_responses()
    assert names == ["a", "b"]  # "c" says it lives elsewhere
