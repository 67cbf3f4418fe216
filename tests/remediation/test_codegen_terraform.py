"""Codify acceptance (issue 6): generated import blocks + configuration plan as imports only.

On a private moto server, resources of 37 supported types are made BY HAND with boto3 (no
Terraform), several pointing at each other (subnets in the VPC, an instance profile holding the
role, an alias of the key, a policy attached to the role …). The drift service, given an empty
state, reports them unmanaged; the real AwsProvider discovers them; `generate` codifies them in two
runs — the VPC first, then everything else with the VPC passed as *managed*, so both kinds of
references (to a managed resource and to one codified in the same run) are exercised. The real
Terraform CLI and hashicorp/aws provider then `validate` the files and `plan` them: imports only,
0 to add, 0 to change, 0 to destroy, every codified resource imported.

Types that do not round-trip (see docs/remediation.md) are not made here; two that are refused on
purpose (a key pair, SSM parameters) are, and must be listed as skipped with their reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from driftmgr.engine.codegen import Generated, generate
from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.services.drift import DetectOptions, DriftService, provider_schema
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env, start_moto
from tests.fixtures.terraform import Terraform

REGION = "us-east-1"
ACCOUNT = "123456789012"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIARPtsHpyze1U+XvT8/S2T9FnOyH6l0OelSiGbTyCg/k"
# A tag value and a policy variable that must survive HCL escaping byte for byte.
TRICKY_TAG = 'a "quoted" \\ back ${var.x} %{ if } end\nsecond\tline $${lit} 100%% naïve ✓'
BUCKET = "codify-bucket"

# Every type made below and expected to be codified (one or more resources each).
CODIFIED_TYPES = {
    "aws_vpc", "aws_subnet", "aws_security_group", "aws_internet_gateway", "aws_route_table",
    "aws_network_acl", "aws_eip", "aws_ebs_volume", "aws_s3_bucket", "aws_s3_bucket_versioning",
    "aws_s3_bucket_policy", "aws_sqs_queue", "aws_sns_topic", "aws_iam_role", "aws_iam_policy",
    "aws_iam_user", "aws_iam_group", "aws_iam_instance_profile", "aws_iam_role_policy_attachment",
    "aws_dynamodb_table", "aws_kms_key", "aws_kms_alias", "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm", "aws_ecr_repository", "aws_ecs_cluster", "aws_route53_zone",
    "aws_db_subnet_group", "aws_lb_target_group", "aws_route53_record", "aws_route_table_association",
    "aws_iam_role_policy", "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_lifecycle_configuration", "aws_launch_template", "aws_instance", "aws_volume_attachment",
}  # fmt: skip


@dataclass
class Codified:
    workdir: Path
    made: dict[str, str]  # what seed() created: logical name → id
    network: Generated  # run 1: the VPC
    rest: Generated  # run 2: everything else, the VPC passed as managed
    unmanaged: list[Resource]
    validate: dict[str, Any] = field(default_factory=dict)
    plan_rc: int = -1
    plan_messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def addresses(self) -> dict[tuple[str, str], str]:
        return {**self.network.addresses, **self.rest.addresses}

    @property
    def generated_tf(self) -> str:
        return self.network.generated_tf + "\n" + self.rest.generated_tf


def seed(ec2: Any, session: Any) -> dict[str, str]:
    """Make the resources by hand (one thread: moto can fail on concurrent writes)."""
    made: dict[str, str] = {}

    def tags(kind: str, **kv: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in kv.items()]}]

    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=tags("vpc", Name="main"))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    made["vpc"] = vpc
    sub_a = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.42.1.0/24", AvailabilityZone="us-east-1a",
        TagSpecifications=tags("subnet", Name="app a"),
    )["Subnet"]["SubnetId"]  # fmt: skip
    sub_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.2.0/24", AvailabilityZone="us-east-1b")
    made["subnet_a"], made["subnet_b"] = sub_a, sub_b["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web", Description="web servers", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "https"}]}],
    )  # fmt: skip
    made["sg"] = sg
    igw = ec2.create_internet_gateway(TagSpecifications=tags("internet-gateway", Name="main"))
    made["igw"] = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=made["igw"], VpcId=vpc)
    rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=tags("route-table", Name="public"))
    made["rt"] = rt["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=made["rt"], DestinationCidrBlock="0.0.0.0/0", GatewayId=made["igw"])
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=tags("network-acl", Name="app"))
    made["acl"] = acl["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=made["acl"], RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
        CidrBlock="10.0.0.0/8", PortRange={"From": 443, "To": 443},
    )  # fmt: skip
    made["eip"] = ec2.allocate_address(Domain="vpc", TagSpecifications=tags("elastic-ip", Name="nat"))[
        "AllocationId"
    ]
    made["volume"] = ec2.create_volume(
        AvailabilityZone="us-east-1a", Size=8, VolumeType="gp3", TagSpecifications=tags("volume", Name="data")
    )["VolumeId"]
    ec2.import_key_pair(KeyName="deploy", PublicKeyMaterial=ED25519.encode())
    made["rt_assoc"] = ec2.associate_route_table(RouteTableId=made["rt"], SubnetId=sub_a)["AssociationId"]
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"}
    )
    made["instance"] = ec2.run_instances(
        ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=made["subnet_b"],
        SecurityGroupIds=[sg], TagSpecifications=tags("instance", Name="web"),
    )["Instances"][0]["InstanceId"]  # fmt: skip
    ec2.attach_volume(VolumeId=made["volume"], InstanceId=made["instance"], Device="/dev/sdf")

    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "note", "Value": TRICKY_TAG}]})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    bucket_policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }  # fmt: skip
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(bucket_policy))
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
            ]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-tmp",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )

    sqs = session.client("sqs")
    # moto's default MaximumMessageSize (1 MiB) is above what provider 5.x accepts: set AWS's classic one
    sqs.create_queue(
        QueueName="jobs", Attributes={"VisibilityTimeout": "60", "MaximumMessageSize": "262144"},
        tags={"env": "test"},
    )  # fmt: skip
    session.client("sns").create_topic(Name="alerts", Tags=[{"Key": "env", "Value": "test"}])

    iam = session.client("iam")
    assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
              "Principal": {"Service": "ec2.amazonaws.com"}}]}  # fmt: skip
    iam.create_role(
        RoleName="app", AssumeRolePolicyDocument=json.dumps(assume), Description="app role",
        Tags=[{"Key": "env", "Value": "test"}],
    )  # fmt: skip
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
           "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}  # fmt: skip
    policy_arn = iam.create_policy(PolicyName="read-s3", PolicyDocument=json.dumps(doc), Description="read")[
        "Policy"
    ]["Arn"]
    iam.attach_role_policy(RoleName="app", PolicyArn=policy_arn)
    inline = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="app", PolicyName="logs", PolicyDocument=json.dumps(inline))
    iam.create_user(UserName="deployer", Tags=[{"Key": "env", "Value": "test"}])
    iam.create_group(GroupName="admins", Path="/ops/")
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")

    session.client("dynamodb").create_table(
        TableName="items", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )  # fmt: skip
    kms = session.client("kms")
    # KeyUsage explicit: moto leaves it empty otherwise, where AWS (and the provider) say ENCRYPT_DECRYPT
    key = kms.create_key(
        Description="app key", KeyUsage="ENCRYPT_DECRYPT", Tags=[{"TagKey": "env", "TagValue": "test"}]
    )
    made["key"] = key["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=made["key"])
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/app/web")
    logs.put_retention_policy(logGroupName="/app/web", retentionInDays=14)
    session.client("cloudwatch").put_metric_alarm(
        AlarmName="queue-depth", MetricName="ApproximateNumberOfMessagesVisible", Namespace="AWS/SQS",
        Statistic="Average", Period=300, EvaluationPeriods=1, Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold", Dimensions=[{"Name": "QueueName", "Value": "jobs"}],
    )  # fmt: skip
    ssm = session.client("ssm")
    ssm.put_parameter(Name="/app/config", Value="hello", Type="String")
    ssm.put_parameter(Name="/app/secret", Value="hunter2", Type="SecureString")
    session.client("ecr").create_repository(repositoryName="app")
    session.client("ecs").create_cluster(clusterName="apps")
    zone = session.client("route53").create_hosted_zone(
        Name="example.internal", CallerReference="codify-1", HostedZoneConfig={"Comment": "zone"}
    )
    made["zone"] = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    session.client("route53").change_resource_record_sets(
        HostedZoneId=made["zone"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.example.internal", "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": "10.42.1.10"}],
        }}]},
    )  # fmt: skip
    session.client("elbv2").create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )
    session.client("rds").create_db_subnet_group(
        DBSubnetGroupName="app-db", DBSubnetGroupDescription="app db", SubnetIds=[sub_a, made["subnet_b"]]
    )
    return made


def plan_json(terraform: Terraform, workdir: Path) -> tuple[int, list[dict[str, Any]]]:
    proc = terraform.run(
        workdir, "plan", "-detailed-exitcode", "-json", "-input=false", "-no-color", check=False
    )
    messages = []
    for line in proc.stdout.splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            continue
    if proc.returncode == 1:
        errors = [m.get("@message") for m in messages if m.get("@level") == "error"]
        raise AssertionError(f"terraform plan failed: {errors or proc.stderr[-4000:]}")
    return proc.returncode, messages


@pytest.fixture(scope="module")
def codified(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Codified]:
    server: MotoServer = start_moto()
    mp = pytest.MonkeyPatch()
    try:
        tmp = tmp_path_factory.mktemp("codify")
        set_fake_aws_env(mp, server.endpoint, tmp)
        mp.setenv("DRIFTMGR_DATA_DIR", str(tmp / "data"))  # module scope: before the autouse fixture
        import boto3

        session = boto3.session.Session(region_name=REGION)
        made = seed(session.client("ec2"), session)

        # What the product calls unmanaged: a drift scan against an empty state.
        empty = tmp / "empty.tfstate"
        empty.write_text(json.dumps({"version": 4, "terraform_version": "1.5.0", "serial": 1,
                                     "lineage": "codify", "outputs": {}, "resources": []}))  # fmt: skip
        report = DriftService().detect([str(empty)], DetectOptions(provider="aws", regions=[REGION]))
        assert not report.errors, report.errors
        wanted = {(i.type, i.id) for i in report.resources if i.status == "unmanaged"}
        live = AwsProvider().discover(regions=[REGION])
        assert not live.errors, live.errors
        unmanaged = sorted((r for r in live.resources if r.key in wanted), key=lambda r: r.key)
        assert {r.key for r in unmanaged} == wanted

        schema = provider_schema("aws")
        network = generate([r for r in unmanaged if r.type == "aws_vpc"], {}, schema)
        rest = generate([r for r in unmanaged if r.type != "aws_vpc"], network.addresses, schema)

        workdir = tmp / "config"
        workdir.mkdir()
        (workdir / "provider.tf").write_text(terraform.provider_block(server.endpoint, region=REGION))
        (workdir / "network.tf").write_text(network.generated_tf)
        (workdir / "imports.tf").write_text(network.imports_tf + "\n" + rest.imports_tf)
        (workdir / "generated.tf").write_text(rest.generated_tf)
        result = Codified(workdir, made, network, rest, unmanaged)
        terraform.run(workdir, "init", "-input=false", "-no-color")
        proc = terraform.run(workdir, "validate", "-json", "-no-color", check=False)
        result.validate = json.loads(proc.stdout)
        if result.validate.get("valid"):
            result.plan_rc, result.plan_messages = plan_json(terraform, workdir)
        yield result
    finally:
        mp.undo()
        server.stop()


def test_generated_configuration_validates(codified: Codified) -> None:
    diags = [
        d.get("summary", "") + ": " + d.get("detail", "") for d in codified.validate.get("diagnostics", [])
    ]
    assert codified.validate.get("valid") is True, "\n".join(diags)
    assert codified.validate.get("error_count") == 0
    assert codified.validate.get("warning_count") == 0, diags


def test_generated_files_are_terraform_fmt_clean(codified: Codified, terraform: Terraform) -> None:
    for name in ("imports.tf", "generated.tf", "network.tf"):
        proc = terraform.run(codified.workdir, "fmt", "-check", "-diff", "-no-color", name, check=False)
        assert proc.returncode == 0, f"{name} is not formatted:\n{proc.stdout}"


def test_plan_is_imports_only(codified: Codified) -> None:
    summaries = [m["changes"] for m in codified.plan_messages if m.get("type") == "change_summary"]
    assert len(summaries) == 1, summaries
    changed = [
        f"{m['change']['resource']['addr']}: {m['change']['action']}"
        for m in codified.plan_messages
        if m.get("type") == "planned_change" and m["change"]["action"] not in ("noop", "read")
    ]
    summary = summaries[0]
    assert (summary["add"], summary["change"], summary["remove"]) == (0, 0, 0), changed
    assert summary["import"] == len(codified.addresses)
    assert codified.plan_rc == 2  # -detailed-exitcode: imports are changes to apply


def test_every_codified_resource_is_imported_with_its_id(codified: Codified) -> None:
    imported = {
        m["change"]["resource"]["addr"]: m["change"]["importing"]["id"]
        for m in codified.plan_messages
        if m.get("type") == "planned_change" and m["change"].get("importing")
    }
    by_key = {r.key: r for r in codified.unmanaged}
    expected = {addr: by_key[key].import_id or key[1] for key, addr in codified.addresses.items()}
    assert imported == expected
    assert {key[0] for key in codified.addresses} == CODIFIED_TYPES
    assert len(CODIFIED_TYPES) >= 15


def test_nothing_unmanaged_is_lost(codified: Codified) -> None:
    """Every unmanaged resource is either codified or skipped with a reason."""
    skipped = {(t, i): reason for t, i, reason in codified.network.skipped + codified.rest.skipped}
    assert set(codified.addresses) | set(skipped) == {r.key for r in codified.unmanaged}
    assert "public_key" in skipped[("aws_key_pair", "deploy")]
    assert "sensitive" in skipped[("aws_ssm_parameter", "/app/secret")]
    assert "sensitive" in skipped[("aws_ssm_parameter", "/app/config")]
    assert "hunter2" not in codified.generated_tf and "hello" not in codified.generated_tf
    assert set(skipped) == {("aws_key_pair", "deploy"), ("aws_ssm_parameter", "/app/secret"),
                            ("aws_ssm_parameter", "/app/config")}  # fmt: skip


def test_references_to_managed_and_codified_resources(codified: Codified) -> None:
    made, tf = codified.made, codified.rest.generated_tf
    vpc_address = codified.network.addresses[("aws_vpc", made["vpc"])]
    assert vpc_address == "aws_vpc.main"
    assert ("aws_vpc", made["vpc"]) not in codified.rest.addresses  # managed: not codified again
    # 2 subnets, SG, IGW, route table, NACL, target group
    assert len(re.findall(r"\bvpc_id += aws_vpc\.main\.id\n", tf)) == 7
    assert made["vpc"] not in tf  # every mention of the VPC is a reference
    subnet_a = codified.rest.addresses[("aws_subnet", made["subnet_a"])]
    subnet_b = codified.rest.addresses[("aws_subnet", made["subnet_b"])]
    assert subnet_a == "aws_subnet.app_a"
    for pattern in (
        rf"subnet_ids += \[{subnet_a}\.id, {subnet_b}\.id\]",
        r"gateway_id += aws_internet_gateway\.main\.id",
        r"role += aws_iam_role\.app\.name",  # instance profile and policy attachment
        r"policy_arn += aws_iam_policy\.read_s3\.arn",
        r"target_key_id += aws_kms_key\.app_key\.id",
        r"bucket += aws_s3_bucket\.codify_bucket\.id",
        r"route_table_id += aws_route_table\.public\.id",
        r"instance_id += aws_instance\.web\.id",
        r"volume_id += aws_ebs_volume\.data\.id",
        r"zone_id += aws_route53_zone\.example_internal\.id",
        r"vpc_security_group_ids += \[aws_security_group\.web\.id\]",
    ):
        assert re.search(pattern, tf), pattern
    # instance profile, policy attachment, inline policy
    assert len(re.findall(r"role += aws_iam_role\.app\.name", tf)) == 3
    # versioning, policy, encryption, lifecycle
    assert len(re.findall(r"bucket += aws_s3_bucket\.codify_bucket\.id", tf)) == 4
    for literal in (made["subnet_a"], made["igw"], made["key"], made["sg"], made["instance"], made["zone"]):
        assert literal not in tf.replace(f'"{literal}"', "")  # only as an import id, never in config


def test_tricky_strings_are_escaped(codified: Codified) -> None:
    """A clean plan already proves the values round-trip; this pins how they are written."""
    tf = codified.rest.generated_tf
    written = r'"a \"quoted\" \\ back $${var.x} %%{ if } end\nsecond\tline $$${lit} 100%% naïve ✓"'
    assert f"note = {written}" in tf
    assert '"arn:aws:s3:::codify-bucket/home/$${aws:username}/*"' in tf
    assert "jsonencode(" in tf
