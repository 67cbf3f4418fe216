"""Lambda, ECS, EKS and ECR: discovery reproduces what real Terraform stored, reads live values, and
finds hand-made resources under the id Terraform would use.

One `terraform apply` for the module, on a private moto server (so no other test's reset can empty it);
discovery of the untouched account runs right after the apply, before any test changes anything.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import boto3
import botocore.session
import pytest

from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.aws.resources.ecs import container_definitions_json
from driftmgr.providers.base import DiscoveryResult, registered_types
from tests.fixtures.moto_server import set_fake_aws_env, start_moto
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_lambda_function",
    "aws_ecs_cluster",
    "aws_ecs_service",
    "aws_ecs_task_definition",
    "aws_eks_cluster",
    "aws_ecr_repository",
]

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
}
resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.40.1.0/24"
  availability_zone = "us-east-1a"
}
resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.40.2.0/24"
  availability_zone = "us-east-1b"
}
resource "aws_security_group" "app" {
  name   = "app"
  vpc_id = aws_vpc.main.id
}
resource "aws_iam_role" "lambda" {
  name = "lambda-exec"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "lambda.amazonaws.com" } }]
  })
}
resource "aws_iam_role" "eks" {
  name = "eks-cluster"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "eks.amazonaws.com" } }]
  })
}

resource "aws_lambda_function" "fn" {
  for_each      = { api = 256, worker = 512 }
  function_name = "fn-${each.key}"
  role          = aws_iam_role.lambda.arn
  handler       = "index.handler"
  runtime       = "python3.12"
  filename      = "${path.module}/fn.zip"
  memory_size   = each.value
  timeout       = 30
  description   = "function ${each.key}"
  environment {
    variables = { STAGE = "test", NAME = each.key }
  }
  tags = { team = "core", fn = each.key }
}
resource "aws_lambda_function" "tuned" {
  function_name                  = "fn-tuned"
  role                           = aws_iam_role.lambda.arn
  handler                        = "index.handler"
  runtime                        = "python3.11"
  filename                       = "${path.module}/fn.zip"
  architectures                  = ["arm64"]
  reserved_concurrent_executions = 3
  ephemeral_storage {
    size = 1024
  }
  tracing_config {
    mode = "Active"
  }
}

resource "aws_ecs_cluster" "c" {
  count = 2
  name  = "cluster-${count.index}"
  setting {
    name  = "containerInsights"
    value = count.index == 0 ? "enabled" : "disabled"
  }
  tags = { idx = tostring(count.index) }
}
resource "aws_ecs_task_definition" "web" {
  family                   = "web"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "web"
    image        = "nginx:1.25"
    essential    = true
    portMappings = [{ containerPort = 80, protocol = "tcp" }]
    environment  = [{ name = "B", value = "2" }, { name = "A", value = "1" }]
  }])
  tags = { app = "web" }
}
resource "aws_ecs_task_definition" "multi" {
  family = "multi"
  container_definitions = jsonencode([
    { name = "sidecar", image = "envoy:1.29", memory = 64, essential = false },
    { name = "app", image = "busybox", memory = 128, command = ["sleep", "3600"],
      dockerLabels = { tier = "back" } },
  ])
  volume {
    name      = "data"
    host_path = "/srv/data"
  }
}
resource "aws_ecs_service" "svc" {
  for_each        = { web = 0, api = 1 }
  name            = each.key
  cluster         = aws_ecs_cluster.c[each.value].id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = each.value + 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = [aws_subnet.b.id, aws_subnet.a.id]
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = each.key == "web"
  }
  tags = { svc = each.key }
}

resource "aws_eks_cluster" "k" {
  count                     = 2
  name                      = "k8s-${count.index}"
  role_arn                  = aws_iam_role.eks.arn
  version                   = "1.29"
  enabled_cluster_log_types = count.index == 1 ? ["audit", "api"] : null
  vpc_config {
    subnet_ids              = [aws_subnet.a.id, aws_subnet.b.id]
    endpoint_private_access = count.index == 1
  }
  tags = { env = "test", idx = tostring(count.index) }
}

resource "aws_ecr_repository" "r" {
  for_each             = toset(["api", "worker"])
  name                 = "repo-${each.key}"
  image_tag_mutability = each.key == "api" ? "IMMUTABLE" : "MUTABLE"
  image_scanning_configuration {
    scan_on_push = each.key == "api"
  }
  tags = { repo = each.key }
}
resource "aws_ecr_repository" "plain" {
  name = "repo-plain"
}
"""


# State attributes discovery does not report (left unknown), per type, with why.
NOT_READ = {
    "aws_lambda_function": {
        # configuration only: the package source and apply-time switches
        "filename", "s3_bucket", "s3_key", "s3_object_version", "source_code_hash", "publish",
        "skip_destroy", "replace_security_groups_on_destroy", "replacement_security_group_ids",
        # computed from ListVersionsByFunction, which drift never needs
        "version", "qualified_arn", "qualified_invoke_arn",
    },
    "aws_ecs_cluster": set(),
    "aws_ecs_service": {
        "force_delete", "force_new_deployment", "wait_for_steady_state", "triggers",  # configuration only
        # not read by the provider either
        "service_connect_configuration", "volume_configuration", "vpc_lattice_configurations",
        "iam_role",  # no role on these services
        # moto returns no deploymentConfiguration
        "alarms", "deployment_circuit_breaker", "deployment_maximum_percent",
        "deployment_minimum_healthy_percent",
    },
    "aws_ecs_task_definition": {"skip_destroy", "track_latest"},
    "aws_eks_cluster": {"bootstrap_self_managed_addons", "force_update_version", "cluster_id"},
    "aws_ecr_repository": {"force_delete"},
}  # fmt: skip


def _zip() -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


@dataclass
class Applied:
    state: dict[str, Any]
    untouched: DiscoveryResult

    def instance(self, tf_type: str, name: str, index_key: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.state, tf_type):
            if inst["name"] == name and inst["index_key"] == index_key:
                return dict(inst["attributes"])
        raise KeyError((tf_type, name, index_key))


@pytest.fixture(scope="module")
def applied(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    server = start_moto()
    try:
        with pytest.MonkeyPatch.context() as mp:
            set_fake_aws_env(mp, server.endpoint, tmp_path_factory.mktemp("aws"))
            workdir = tmp_path_factory.mktemp("tf")
            (workdir / "fn.zip").write_bytes(_zip())
            state = terraform.apply(workdir, CONFIG, server.endpoint)
            yield Applied(state=state, untouched=AwsProvider().discover(types=TYPES))
    finally:
        server.stop()


def _discover(types: list[str]) -> dict[tuple[str, str], Resource]:
    result = AwsProvider().discover(types=types)
    assert not result.errors, result.errors
    return by_key(result)


# --- untouched: discovery equals the state -------------------------------------------------------


@pytest.mark.parametrize("tf_type", TYPES)
def test_untouched_resources_read_back_as_terraform_stored_them(applied: Applied, tf_type: str) -> None:
    found = assert_discovered_matches_state(applied.untouched, applied.state, tf_type)
    assert len(found) == len(state_instances(applied.state, tf_type))
    for inst in state_instances(applied.state, tf_type):
        reported = by_key(applied.untouched)[(tf_type, inst["attributes"]["id"])].attributes
        unread = set(inst["attributes"]) - set(reported) - {"id", "tags_all", "timeouts"}
        assert unread == NOT_READ[tf_type], inst["attributes"]["id"]
    assert not [r for r in applied.untouched.resources if r.type == tf_type and r.default]


def test_lambda_reads_configuration_tags_and_concurrency(applied: Applied) -> None:
    found = by_key(applied.untouched)
    tuned = found[("aws_lambda_function", "fn-tuned")].attributes
    assert tuned["architectures"] == ["arm64"]
    assert tuned["reserved_concurrent_executions"] == 3
    assert tuned["ephemeral_storage"] == [{"size": 1024}]
    assert tuned["tracing_config"] == [{"mode": "Active"}]
    assert tuned["tags"] is None  # untagged: null, as Terraform stores it
    api = found[("aws_lambda_function", "fn-api")].attributes
    assert api["environment"] == [{"variables": {"STAGE": "test", "NAME": "api"}}]
    assert api["reserved_concurrent_executions"] == -1
    assert api["tags"] == {"team": "core", "fn": "api"}
    assert "filename" not in api and "source_code_hash" not in api  # configuration-only


def test_task_definition_is_read_by_family_with_container_definitions_as_terraform_writes_them(
    applied: Applied,
) -> None:
    found = by_key(applied.untouched)
    multi = found[("aws_ecs_task_definition", "multi")].attributes
    assert multi["arn"].endswith(":task-definition/multi:1")
    assert (
        multi["container_definitions"]
        == applied.instance("aws_ecs_task_definition", "multi")["container_definitions"]
    )
    defs = json.loads(multi["container_definitions"])
    assert [d["name"] for d in defs] == ["app", "sidecar"]  # containers sorted by name
    assert list(defs[0]) == sorted(defs[0])  # keys in the SDK's order
    assert "cpu" not in defs[0]  # a zero cpu is not serialized by the Go SDK
    assert defs[0]["dockerLabels"] == {"tier": "back"}
    assert multi["volume"] == [
        {"name": "data", "host_path": "/srv/data", "configure_at_launch": False,
         "docker_volume_configuration": [], "efs_volume_configuration": [],
         "fsx_windows_file_server_volume_configuration": []}
    ]  # fmt: skip
    web = json.loads(found[("aws_ecs_task_definition", "web")].attributes["container_definitions"])
    assert [e["name"] for e in web[0]["environment"]] == ["A", "B"]  # environment sorted by name


def test_ecs_cluster_and_service_are_identified_by_arn_and_imported_by_name(applied: Applied) -> None:
    found = by_key(applied.untouched)
    cluster_arn = applied.instance("aws_ecs_cluster", "c", 0)["arn"]
    cluster = found[("aws_ecs_cluster", cluster_arn)].attributes
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    service = applied.instance("aws_ecs_service", "svc", "web")
    assert service["id"] == f"{cluster_arn.replace(':cluster/', ':service/')}/web"
    live = found[("aws_ecs_service", service["id"])].attributes
    assert live["network_configuration"][0]["assign_public_ip"] is True
    assert live["network_configuration"][0]["subnets"] == sorted(live["network_configuration"][0]["subnets"])
    rtypes = registered_types("aws")
    item = {"clusterArn": cluster_arn, "serviceName": "web", "clusterName": "cluster-0"}
    assert rtypes["aws_ecs_service"].import_id is not None
    assert rtypes["aws_ecs_service"].import_id(item) == "cluster-0/web"
    assert rtypes["aws_ecs_cluster"].import_id is not None
    assert rtypes["aws_ecs_cluster"].import_id(item) == "cluster-0"


def test_eks_cluster_reads_log_types_and_vpc_config_as_sets(applied: Applied) -> None:
    found = by_key(applied.untouched)
    logged = found[("aws_eks_cluster", "k8s-1")].attributes
    assert logged["enabled_cluster_log_types"] == ["api", "audit"]
    assert logged["vpc_config"][0]["endpoint_private_access"] is True
    assert found[("aws_eks_cluster", "k8s-0")].attributes["enabled_cluster_log_types"] is None


# --- hand-made resources: unmanaged, under Terraform's id ---------------------------------------


def test_hand_made_resources_are_discovered_unmanaged_under_terraform_ids(applied: Applied) -> None:
    role = applied.instance("aws_iam_role", "lambda")["arn"]
    subnet = applied.instance("aws_subnet", "a")["id"]
    group = applied.instance("aws_security_group", "app")["id"]
    eks_role = applied.instance("aws_iam_role", "eks")["arn"]
    boto3.client("lambda").create_function(
        FunctionName="hand-fn", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip()},
    )  # fmt: skip
    ecs = boto3.client("ecs")
    cluster_arn = ecs.create_cluster(clusterName="hand-cluster")["cluster"]["clusterArn"]
    ecs.register_task_definition(
        family="hand-task", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 64}]
    )
    service_arn = ecs.create_service(
        cluster="hand-cluster", serviceName="hand-svc", taskDefinition="hand-task", desiredCount=1,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["service"]["serviceArn"]  # fmt: skip
    boto3.client("eks").create_cluster(
        name="hand-k8s", roleArn=eks_role, resourcesVpcConfig={"subnetIds": [subnet]}
    )
    boto3.client("ecr").create_repository(repositoryName="hand-repo")

    found = _discover(TYPES)
    managed = {(i["type"], i["attributes"]["id"]) for i in state_instances(applied.state)}
    hand = {
        ("aws_lambda_function", "hand-fn"),
        ("aws_ecs_cluster", cluster_arn),
        ("aws_ecs_task_definition", "hand-task"),
        ("aws_ecs_service", service_arn),
        ("aws_eks_cluster", "hand-k8s"),
        ("aws_ecr_repository", "hand-repo"),
    }
    assert service_arn.endswith(":service/hand-cluster/hand-svc")
    assert {key for key in found if key not in managed} == hand
    assert not any(found[key].default for key in hand)
    assert found[("aws_ecs_task_definition", "hand-task")].attributes["arn"].endswith("hand-task:1")


# --- out-of-band changes show as the live value ---------------------------------------------------


def test_out_of_band_changes_read_as_live_values(applied: Applied) -> None:
    boto3.client("lambda").update_function_configuration(
        FunctionName="fn-worker", MemorySize=1024, Environment={"Variables": {"STAGE": "prod"}}
    )
    ecs = boto3.client("ecs")
    ecs.update_cluster(cluster="cluster-1", settings=[{"name": "containerInsights", "value": "enabled"}])
    web = applied.instance("aws_ecs_service", "svc", "web")
    ecs.update_service(cluster="cluster-0", service="web", desiredCount=5)
    ecs.register_task_definition(
        family="multi", containerDefinitions=[{"name": "app", "image": "busybox:2", "memory": 128}]
    )
    eks = boto3.client("eks")
    eks.update_cluster_config(
        name="k8s-0", logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]}
    )
    eks.tag_resource(resourceArn=applied.instance("aws_eks_cluster", "k", 0)["arn"], tags={"owner": "me"})
    ecr = boto3.client("ecr")
    ecr.put_image_tag_mutability(repositoryName="repo-api", imageTagMutability="MUTABLE")
    ecr.put_image_scanning_configuration(
        repositoryName="repo-worker", imageScanningConfiguration={"scanOnPush": True}
    )

    found = _discover(TYPES)
    worker = found[("aws_lambda_function", "fn-worker")].attributes
    assert (worker["memory_size"], worker["environment"]) == (1024, [{"variables": {"STAGE": "prod"}}])
    cluster = found[("aws_ecs_cluster", applied.instance("aws_ecs_cluster", "c", 1)["arn"])].attributes
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert found[("aws_ecs_service", web["id"])].attributes["desired_count"] == 5 != web["desired_count"]
    multi = found[("aws_ecs_task_definition", "multi")].attributes
    assert multi["revision"] == 2 and multi["arn"].endswith("multi:2")
    assert json.loads(multi["container_definitions"])[0]["image"] == "busybox:2"
    k8s = found[("aws_eks_cluster", "k8s-0")].attributes
    assert k8s["enabled_cluster_log_types"] == ["audit"]
    assert k8s["tags"] == {"env": "test", "idx": "0", "owner": "me"}
    assert found[("aws_ecr_repository", "repo-api")].attributes["image_tag_mutability"] == "MUTABLE"
    assert found[("aws_ecr_repository", "repo-worker")].attributes["image_scanning_configuration"] == [
        {"scan_on_push": True}
    ]


def test_deleted_repository_is_no_longer_discovered(applied: Applied) -> None:
    boto3.client("ecr").delete_repository(repositoryName="repo-plain")
    found = _discover(["aws_ecr_repository"])
    assert ("aws_ecr_repository", "repo-plain") not in found
    assert ("aws_ecr_repository", "repo-api") in found


# --- container definitions: the provider's JSON, without Terraform --------------------------------


def test_container_definitions_follow_the_go_sdk_serialization() -> None:
    shape = botocore.session.get_session().get_service_model("ecs").shape_for("ContainerDefinition")
    api = [
        {"name": "web", "image": "nginx", "cpu": 0, "essential": True,
         "portMappings": [{"containerPort": 80, "protocol": "tcp", "appProtocol": ""}],
         "environment": [{"name": "Z", "value": "1"}, {"name": "A", "value": "2"}],
         "secrets": [{"name": "S2", "valueFrom": "arn:2"}, {"name": "S1", "valueFrom": "arn:1"}],
         "ulimits": [{"name": "nofile", "softLimit": 0, "hardLimit": 0}], "mountPoints": []},
        {"name": "app", "image": "busybox", "cpu": 5, "essential": False,
         "dockerLabels": {"b": "2", "a": "1"}},
    ]  # fmt: skip
    assert container_definitions_json(api, shape) == (
        '[{"cpu":5,"dockerLabels":{"a":"1","b":"2"},"essential":false,"image":"busybox","name":"app"},'
        '{"environment":[{"name":"A","value":"2"},{"name":"Z","value":"1"}],"essential":true,"image":"nginx",'
        '"mountPoints":[],"name":"web","portMappings":[{"containerPort":80,"protocol":"tcp"}],'
        '"secrets":[{"name":"S1","valueFrom":"arn:1"},{"name":"S2","valueFrom":"arn:2"}],'
        '"ulimits":[{"hardLimit":0,"name":"nofile","softLimit":0}]}]'
    )
