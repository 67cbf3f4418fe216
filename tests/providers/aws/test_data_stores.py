"""RDS, DynamoDB and ElastiCache: discovery reproduces the real Terraform state, reports hand-made
resources with their import ids, flags implicit children and defaults, skips what belongs to other
Terraform types, and reads live values (one terraform apply for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import registered_types
from tests.fixtures.moto_server import AwsEnv, MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_db_instance",
    "aws_db_subnet_group",
    "aws_rds_cluster",
    "aws_dynamodb_table",
    "aws_elasticache_cluster",
]

# One aws_db_instance only: moto gives every DB instance the same DbiResourceId, and the provider
# reads an instance back by that id, so a second one fails the apply ("couldn't find resource").
CONFIG = """
resource "aws_vpc" "db" {
  cidr_block = "10.40.0.0/16"
}
resource "aws_subnet" "db" {
  for_each          = { a = "us-east-1a", b = "us-east-1b" }
  vpc_id            = aws_vpc.db.id
  cidr_block        = each.key == "a" ? "10.40.1.0/24" : "10.40.2.0/24"
  availability_zone = each.value
}
resource "aws_security_group" "db" {
  name   = "dm-db"
  vpc_id = aws_vpc.db.id
}
resource "aws_db_subnet_group" "main" {
  name        = "dm-db-subnets"
  description = "DriftMgr test subnets"
  subnet_ids  = [for s in aws_subnet.db : s.id]
  tags        = { env = "test" }
}
resource "aws_db_subnet_group" "extra" {
  name       = "dm-db-extra"
  subnet_ids = [aws_subnet.db["a"].id, aws_subnet.db["b"].id]
  tags       = { env = "test", role = "extra" }
}
resource "aws_db_instance" "pg" {
  identifier              = "dm-pg"
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.t3.micro"
  allocated_storage       = 20
  db_name                 = "app"
  username                = "dbadmin"
  password                = "Sup3rSecret!"
  db_subnet_group_name    = aws_db_subnet_group.main.name
  vpc_security_group_ids  = [aws_security_group.db.id]
  backup_retention_period = 7
  storage_encrypted       = true
  copy_tags_to_snapshot   = true
  maintenance_window      = "sun:03:00-sun:04:00"
  backup_window           = "01:00-02:00"
  skip_final_snapshot     = true
  tags                    = { env = "test" }
}
resource "aws_rds_cluster" "aurora" {
  count                   = 2
  cluster_identifier      = "dm-aurora-${count.index}"
  engine                  = "aurora-postgresql"
  engine_version          = "15.4"
  master_username         = "dbadmin"
  master_password         = "Sup3rSecret!"
  database_name           = "app"
  db_subnet_group_name    = aws_db_subnet_group.main.name
  backup_retention_period = 3 + count.index
  skip_final_snapshot     = true
  tags                    = { env = "test", idx = tostring(count.index) }
}
resource "aws_dynamodb_table" "orders" {
  name         = "dm-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"
  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "gsi_pk"
    type = "S"
  }
  global_secondary_index {
    name            = "by-gsi"
    hash_key        = "gsi_pk"
    projection_type = "ALL"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  point_in_time_recovery { enabled = true }
  tags = { env = "test" }
}
resource "aws_dynamodb_table" "counters" {
  name             = "dm-counters"
  billing_mode     = "PROVISIONED"
  read_capacity    = 5
  write_capacity   = 3
  hash_key         = "id"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  attribute {
    name = "id"
    type = "N"
  }
  tags = { env = "test", kind = "counters" }
}
resource "aws_elasticache_cluster" "redis" {
  cluster_id      = "dm-redis"
  engine          = "redis"
  engine_version  = "7.0"
  node_type       = "cache.t3.micro"
  num_cache_nodes = 1
  port            = 6379
  tags            = { env = "test" }
}
resource "aws_elasticache_cluster" "memcached" {
  cluster_id      = "dm-memcached"
  engine          = "memcached"
  engine_version  = "1.6.17"
  node_type       = "cache.t3.small"
  num_cache_nodes = 2
  port            = 11211
  tags            = { env = "test", kind = "memcached" }
}
"""


@pytest.fixture(scope="module")
def applied(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One apply for the module; the tests below share it (later ones add and change things)."""
    tmp = tmp_path_factory.mktemp("data_stores")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        yield terraform.apply(tmp / "tf", CONFIG, moto_server.endpoint)


def _attrs(state: dict[str, Any], tf_type: str, id_: str) -> dict[str, Any]:
    return next(i["attributes"] for i in state_instances(state, tf_type) if i["attributes"]["id"] == id_)


def test_data_store_types_match_terraform_state(applied: dict[str, Any]) -> None:
    result = AwsProvider().discover(types=TYPES)
    for tf_type in TYPES:
        assert_discovered_matches_state(result, applied, tf_type)
    found = by_key(result)
    (db,) = [r for r in result.resources if r.type == "aws_db_instance"]
    assert db.id.startswith("db-") and db.attributes["identifier"] == "dm-pg"  # state id = DbiResourceId
    assert (
        db.attributes["vpc_security_group_ids"]
        == _attrs(applied, "aws_db_instance", db.id)["vpc_security_group_ids"]
    )
    orders = found[("aws_dynamodb_table", "dm-orders")].attributes
    assert orders["ttl"] == [{"attribute_name": "expires_at", "enabled": True}]
    assert orders["global_secondary_index"][0]["name"] == "by-gsi"
    assert found[("aws_elasticache_cluster", "dm-redis")].attributes["engine_version"] == "7.0"
    assert found[("aws_rds_cluster", "dm-aurora-1")].attributes["backup_retention_period"] == 4
    # Untouched: nothing unmanaged, nothing default.
    managed = {(i["type"], i["attributes"]["id"]) for i in state_instances(applied)}
    assert [r.key for r in result.resources if r.key not in managed] == []


def test_hand_made_data_stores_are_unmanaged_and_foreign_types_skipped(applied: dict[str, Any]) -> None:
    rds = boto3.client("rds")
    subnets = _attrs(applied, "aws_db_subnet_group", "dm-db-subnets")["subnet_ids"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="dm-hand-subnets", DBSubnetGroupDescription="by hand", SubnetIds=subnets
    )
    rds.create_db_subnet_group(
        DBSubnetGroupName="default", DBSubnetGroupDescription="default", SubnetIds=subnets
    )
    rds.create_db_cluster(
        DBClusterIdentifier="dm-hand-aurora",
        Engine="aurora-postgresql",
        MasterUsername="u",
        MasterUserPassword="p4ssw0rd!",
    )
    # Owned by other Terraform types: an Aurora cluster member, a Neptune cluster.
    rds.create_db_instance(
        DBInstanceIdentifier="dm-hand-aurora-1",
        DBClusterIdentifier="dm-hand-aurora",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    rds.create_db_cluster(
        DBClusterIdentifier="dm-neptune", Engine="neptune", MasterUsername="u", MasterUserPassword="p4ssw0rd!"
    )
    raw_clusters = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
    raw_instances = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    assert "dm-neptune" in raw_clusters and "dm-hand-aurora-1" in raw_instances  # listed, then skipped
    boto3.client("dynamodb").create_table(
        TableName="dm-hand-table",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    cache = boto3.client("elasticache")
    cache.create_cache_cluster(
        CacheClusterId="dm-hand-redis",
        Engine="redis",
        EngineVersion="5.0.6",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
    )
    cache.create_cache_cluster(
        CacheClusterId="dm-rg-002",
        ReplicationGroupId="dm-rg",
        Engine="redis",
        EngineVersion="7.1",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
    )

    result = AwsProvider().discover(types=TYPES)
    assert not result.errors, result.errors
    managed = {(i["type"], i["attributes"]["id"]) for i in state_instances(applied)}
    extra = {r.key: r.default_reason for r in result.resources if r.key not in managed}
    assert extra == {
        ("aws_db_subnet_group", "dm-hand-subnets"): None,
        ("aws_db_subnet_group", "default"): "default DB subnet group (created by RDS for the default VPC)",
        ("aws_rds_cluster", "dm-hand-aurora"): None,
        ("aws_dynamodb_table", "dm-hand-table"): None,
        ("aws_elasticache_cluster", "dm-hand-redis"): None,
        ("aws_elasticache_cluster", "dm-rg-002"): "member of replication group dm-rg",
    }
    found = by_key(result)
    assert found[("aws_db_subnet_group", "dm-hand-subnets")].attributes["description"] == "by hand"
    assert found[("aws_elasticache_cluster", "dm-hand-redis")].attributes["engine_version"] == "5.0.6"
    assert found[("aws_elasticache_cluster", "dm-rg-002")].attributes["engine_version"] == "7.1"


def test_data_store_out_of_band_changes_show_live_values(applied: dict[str, Any]) -> None:
    rds = boto3.client("rds")
    db_id = state_instances(applied, "aws_db_instance")[0]["attributes"]["id"]
    db_arn = _attrs(applied, "aws_db_instance", db_id)["arn"]
    rds.modify_db_instance(DBInstanceIdentifier="dm-pg", BackupRetentionPeriod=1, ApplyImmediately=True)
    rds.add_tags_to_resource(ResourceName=db_arn, Tags=[{"Key": "owner", "Value": "ops"}])
    rds.modify_db_cluster(DBClusterIdentifier="dm-aurora-0", BackupRetentionPeriod=10, ApplyImmediately=True)
    # (moto's ModifyDBSubnetGroup loses the group, so the subnet group change is a tag edit)
    rds.add_tags_to_resource(
        ResourceName=_attrs(applied, "aws_db_subnet_group", "dm-db-subnets")["arn"],
        Tags=[{"Key": "env", "Value": "edited"}],
    )
    rds.delete_db_subnet_group(DBSubnetGroupName="dm-db-extra")
    ddb = boto3.client("dynamodb")
    ddb.update_table(
        TableName="dm-counters", ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 3}
    )
    ddb.update_time_to_live(
        TableName="dm-orders", TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": False}
    )
    cache_arn = _attrs(applied, "aws_elasticache_cluster", "dm-redis")["arn"]
    boto3.client("elasticache").add_tags_to_resource(
        ResourceName=cache_arn, Tags=[{"Key": "env", "Value": "prod"}]
    )

    found = by_key(AwsProvider().discover(types=TYPES))

    def live(tf_type: str, id_: str, path: str) -> Any:
        value, expected = found[(tf_type, id_)].attributes[path], _attrs(applied, tf_type, id_)[path]
        assert value != expected, f"{tf_type} {id_} {path} still shows the state's value"
        return value

    assert live("aws_db_instance", db_id, "backup_retention_period") == 1
    assert live("aws_db_instance", db_id, "tags") == {"env": "test", "owner": "ops"}
    assert live("aws_rds_cluster", "dm-aurora-0", "backup_retention_period") == 10
    assert live("aws_db_subnet_group", "dm-db-subnets", "tags") == {"env": "edited"}
    assert ("aws_db_subnet_group", "dm-db-extra") not in found
    assert live("aws_dynamodb_table", "dm-counters", "read_capacity") == 10
    assert live("aws_dynamodb_table", "dm-orders", "ttl")[0]["enabled"] is False
    assert live("aws_elasticache_cluster", "dm-redis", "tags") == {"env": "prod"}


def test_hand_made_db_instance_has_resource_id_and_identifier_import_id(aws_env: AwsEnv) -> None:
    """Runs on a blank account (moto gives every DB instance the same DbiResourceId)."""
    created = boto3.client("rds").create_db_instance(
        DBInstanceIdentifier="dm-hand-db", Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="p4ssw0rd!",
    )["DBInstance"]  # fmt: skip
    result = AwsProvider().discover(types=["aws_db_instance"])
    assert [(r.id, r.default) for r in result.resources] == [(created["DbiResourceId"], False)]
    assert result.resources[0].attributes["identifier"] == "dm-hand-db"
    rtype = registered_types("aws")["aws_db_instance"]
    assert rtype.import_id is not None and rtype.import_id(created) == "dm-hand-db"
