"""Out-of-band boto3 edits of the golden environment, with what DriftMgr must report for them.

`semantic_noops` rewrites things without changing their meaning (policies re-ordered and re-indented,
security group rules re-created in another order, record values re-ordered): no drift.
`real_changes` edits, deletes and creates resources by hand and returns the exact report expected:
every drifted address with its attribute paths (and, for scalars, expected → actual), every missing
address, every unmanaged (type, id). Everything runs from one thread (moto can fail concurrent writes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from driftmgr.providers.aws.resources.ec2_routes import route_id
from driftmgr.providers.aws.resources.route53 import record_id
from tests.golden.conftest import Golden

ANY = object()  # a change whose path is asserted, not its values (sets, documents)


@dataclass
class Expected:
    drifted: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> {path: (exp, act) | ANY}
    missing: set[str] = field(default_factory=set)
    unmanaged: set[tuple[str, str]] = field(default_factory=set)

    def change(self, address: str, path: str, values: Any = ANY) -> None:
        self.drifted.setdefault(address, {})[path] = values


def _doc(text: str) -> Any:
    return json.loads(text)


def _reordered(doc: Any) -> str:
    """The same JSON document with every key order and every list order reversed, indented."""

    def flip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: flip(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [flip(x) for x in reversed(v)]
        return v

    return json.dumps(flip(doc), indent=4)


def _ingress(sg: dict[str, Any]) -> list[dict[str, Any]]:
    """A group's ingress permissions as authorize_security_group_ingress takes them."""
    keep = ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds")
    out = []
    for perm in sg["IpPermissions"]:
        p = {k: perm[k] for k in keep if k in perm and perm[k] != []}
        if "UserIdGroupPairs" in p:
            p["UserIdGroupPairs"] = [{"GroupId": u["GroupId"]} for u in p["UserIdGroupPairs"]]
        out.append(p)
    return out


# --- semantic no-ops ------------------------------------------------------------------------------
def semantic_noops(g: Golden) -> None:
    iam, s3, sqs, ec2 = boto3.client("iam"), boto3.client("s3"), boto3.client("sqs"), boto3.client("ec2")
    route53 = boto3.client("route53")

    # IAM: a managed policy's new default version, the assume-role policy and an inline policy.
    read0 = g.attrs("aws_iam_policy.read[0]")
    iam.create_policy_version(
        PolicyArn=read0["arn"], PolicyDocument=_reordered(_doc(read0["policy"])), SetAsDefault=True
    )
    ec2_role = g.attrs('aws_iam_role.svc["ec2"]')
    iam.update_assume_role_policy(
        RoleName=ec2_role["name"], PolicyDocument=_reordered(_doc(ec2_role["assume_role_policy"]))
    )
    inline = g.attrs('aws_iam_role_policy.inline["logs"]')
    iam.put_role_policy(
        RoleName=inline["role"], PolicyName=inline["name"], PolicyDocument=_reordered(_doc(inline["policy"]))
    )
    # S3 bucket policy and SQS queue policy.
    bucket_policy = g.attrs("aws_s3_bucket_policy.alpha")
    s3.put_bucket_policy(Bucket=bucket_policy["bucket"], Policy=_reordered(_doc(bucket_policy["policy"])))
    queue = g.attrs("aws_sqs_queue.events")
    sqs.set_queue_attributes(QueueUrl=queue["url"], Attributes={"Policy": _reordered(_doc(queue["policy"]))})

    # Security group rules re-created in the reverse order: inline rules of aws_security_group.web ...
    web = g.id("aws_security_group.web")
    perms = _ingress(ec2.describe_security_groups(GroupIds=[web])["SecurityGroups"][0])
    assert len(perms) == 4, perms
    ec2.revoke_security_group_ingress(GroupId=web, IpPermissions=perms)
    for perm in reversed(perms):
        ranges = perm.get("IpRanges")
        ec2.authorize_security_group_ingress(
            GroupId=web, IpPermissions=[{**perm, "IpRanges": list(reversed(ranges))} if ranges else perm]
        )
    # ... and the aws_security_group_rule resources of the app group (their ids derive from content).
    app = g.id("aws_security_group.app")
    app_perms = [
        p
        for p in _ingress(ec2.describe_security_groups(GroupIds=[app])["SecurityGroups"][0])
        if "IpRanges" in p
    ]
    assert len(app_perms) == 2, app_perms
    ec2.revoke_security_group_ingress(GroupId=app, IpPermissions=app_perms)
    for perm in reversed(app_perms):
        ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[perm])

    # A record's values re-ordered (a set).
    www = g.attrs("aws_route53_record.www")
    route53.change_resource_record_sets(
        HostedZoneId=www["zone_id"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": www["name"], "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": v} for v in reversed(www["records"])],
        }}]},
    )  # fmt: skip


# --- real changes ---------------------------------------------------------------------------------
def real_changes(g: Golden) -> Expected:
    exp = Expected()
    _attribute_edits(g, exp)
    _tags_and_settings(g, exp)
    _rules_and_routes(g, exp)
    _deletions(g, exp)
    _hand_made(g, exp)
    return exp


def _attribute_edits(g: Golden, exp: Expected) -> None:
    c = boto3.client
    web1 = g.id("aws_instance.web[1]")
    c("ec2").modify_instance_attribute(InstanceId=web1, InstanceType={"Value": "t3.medium"})
    exp.change("aws_instance.web[1]", "instance_type", ("t3.small", "t3.medium"))

    c("ec2").modify_volume(VolumeId=g.id('aws_ebs_volume.data["b"]'), Size=40)
    exp.change('aws_ebs_volume.data["b"]', "size", (20, 40))

    c("lambda").update_function_configuration(FunctionName="fn-api", MemorySize=1024)
    exp.change('aws_lambda_function.fn["api"]', "memory_size", (256, 1024))

    c("sqs").set_queue_attributes(
        QueueUrl=g.attrs("aws_sqs_queue.work[1]")["url"], Attributes={"VisibilityTimeout": "90"}
    )
    exp.change("aws_sqs_queue.work[1]", "visibility_timeout_seconds", (45, 90))

    c("logs").put_retention_policy(logGroupName="/golden/app-0", retentionInDays=30)
    exp.change("aws_cloudwatch_log_group.app[0]", "retention_in_days", (14, 30))

    c("dynamodb").update_table(
        TableName="golden-counters", ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 3}
    )
    exp.change("aws_dynamodb_table.counters", "read_capacity", (5, 10))

    c("iam").update_role(RoleName="golden-app", Description="changed by hand", MaxSessionDuration=3600)
    exp.change("aws_iam_role.app", "description", ("application role", "changed by hand"))
    exp.change("aws_iam_role.app", "max_session_duration", (7200, 3600))

    c("ssm").put_parameter(
        Name="/golden/plain", Value="value-plain", Type="String", Overwrite=True, Description="edited"
    )
    exp.change('aws_ssm_parameter.p["plain"]', "description", ("param plain", "edited"))

    c("elbv2").modify_target_group(
        TargetGroupArn=g.id('aws_lb_target_group.web["green"]'), HealthCheckPath="/ready"
    )
    exp.change('aws_lb_target_group.web["green"]', "health_check[0].path", ("/health", "/ready"))

    svc = g.attrs('aws_ecs_service.svc["api"]')
    c("ecs").update_service(cluster=svc["cluster"], service="api", desiredCount=5)
    exp.change('aws_ecs_service.svc["api"]', "desired_count", (2, 5))

    c("autoscaling").update_auto_scaling_group(AutoScalingGroupName="web-asg", MaxSize=5)
    exp.change("aws_autoscaling_group.web", "max_size", (3, 5))

    c("kms").update_key_description(KeyId=g.id('aws_kms_key.k["logs"]'), Description="rotated by hand")
    exp.change('aws_kms_key.k["logs"]', "description", ("key logs", "rotated by hand"))

    c("sns").set_topic_attributes(
        TopicArn=g.id('aws_sns_topic.t["audit"]'), AttributeName="DisplayName", AttributeValue="Audit!"
    )
    exp.change('aws_sns_topic.t["audit"]', "display_name", ("Golden audit", "Audit!"))

    c("ecr").put_image_tag_mutability(repositoryName="repo-worker", imageTagMutability="IMMUTABLE")
    exp.change('aws_ecr_repository.r["worker"]', "image_tag_mutability", ("MUTABLE", "IMMUTABLE"))

    c("rds").modify_db_instance(
        DBInstanceIdentifier="golden-pg", BackupRetentionPeriod=14, ApplyImmediately=True
    )
    exp.change("aws_db_instance.pg", "backup_retention_period", (7, 14))

    www = g.attrs("aws_route53_record.www")
    c("route53").change_resource_record_sets(
        HostedZoneId=www["zone_id"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": www["name"], "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": v} for v in www["records"]],
        }}]},
    )  # fmt: skip
    exp.change("aws_route53_record.www", "ttl", (300, 60))

    # A real policy change: a new default version that also allows s3:PutObject.
    read1 = g.attrs("aws_iam_policy.read[1]")
    doc = _doc(read1["policy"])
    doc["Statement"][0]["Action"] = [*doc["Statement"][0]["Action"], "s3:PutObject"]
    c("iam").create_policy_version(PolicyArn=read1["arn"], PolicyDocument=json.dumps(doc), SetAsDefault=True)
    exp.change("aws_iam_policy.read[1]", "policy")


def _tags_and_settings(g: Golden, exp: Expected) -> None:
    ec2, s3 = boto3.client("ec2"), boto3.client("s3")
    ec2.create_tags(Resources=[g.id("aws_vpc.apps")], Tags=[{"Key": "owner", "Value": "bob"}])
    exp.change("aws_vpc.apps", "tags.owner", (None, "bob"))
    ec2.delete_tags(Resources=[g.id("aws_instance.web[0]")], Tags=[{"Key": "env"}])
    exp.change("aws_instance.web[0]", "tags.env", ("golden", None))
    s3.put_bucket_tagging(Bucket="golden-data-beta", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    exp.change('aws_s3_bucket.data["beta"]', "tags.env", ("golden", "prod"))
    exp.change('aws_s3_bucket.data["beta"]', "tags.name", ("beta", None))
    boto3.client("iam").tag_user(UserName="bob", Tags=[{"Key": "team", "Value": "red"}])
    exp.change('aws_iam_user.u["bob"]', "tags.team", (None, "red"))

    # Settings flipped.
    s3.put_bucket_versioning(Bucket="golden-data-beta", VersioningConfiguration={"Status": "Enabled"})
    exp.change(
        'aws_s3_bucket_versioning.data["beta"]',
        "versioning_configuration[0].status",
        ("Suspended", "Enabled"),
    )
    s3.put_public_access_block(
        Bucket="golden-data-alpha",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                        "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
    )  # fmt: skip
    exp.change('aws_s3_bucket_public_access_block.data["alpha"]', "restrict_public_buckets", (False, True))
    ec2.modify_vpc_attribute(VpcId=g.id("module.net.aws_vpc.this"), EnableDnsHostnames={"Value": False})
    exp.change("module.net.aws_vpc.this", "enable_dns_hostnames", (True, False))
    ec2.modify_subnet_attribute(SubnetId=g.id("aws_subnet.apps[0]"), MapPublicIpOnLaunch={"Value": True})
    exp.change("aws_subnet.apps[0]", "map_public_ip_on_launch", (False, True))


def _rules_and_routes(g: Golden, exp: Expected) -> None:
    ec2 = boto3.client("ec2")
    tcp = {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443}
    # A rule added to a group that holds its rules inline: the group drifts.
    ec2.authorize_security_group_ingress(
        GroupId=g.id("aws_security_group.web"),
        IpPermissions=[{**tcp, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}],
    )
    exp.change("aws_security_group.web", "ingress")
    # A rule added to a group whose rules are separate resources: an unmanaged rule.
    added = ec2.authorize_security_group_ingress(
        GroupId=g.id("aws_security_group.db"),
        IpPermissions=[{**tcp, "IpRanges": [{"CidrIp": "10.8.0.0/16"}]}],
    )
    exp.unmanaged.add(
        ("aws_vpc_security_group_ingress_rule", added["SecurityGroupRules"][0]["SecurityGroupRuleId"])
    )
    # A route added to a table that holds its routes inline: the table drifts.
    public = g.id("module.net.aws_route_table.public")
    ec2.create_route(
        RouteTableId=public,
        DestinationCidrBlock="10.98.0.0/16",
        GatewayId=g.id("module.net.aws_internet_gateway.this"),
    )
    exp.change("module.net.aws_route_table.public", "route")
    # A route added to a table whose routes are aws_route resources: an unmanaged route.
    private_y = g.id('aws_route_table.private["y"]')
    ec2.create_route(
        RouteTableId=private_y,
        DestinationCidrBlock="10.99.0.0/16",
        NatGatewayId=g.id("aws_nat_gateway.public"),
    )
    exp.unmanaged.add(("aws_route", route_id(private_y, "10.99.0.0/16")))


def _deletions(g: Golden, exp: Expected) -> None:
    c = boto3.client
    c("sns").unsubscribe(SubscriptionArn=g.id("aws_sns_topic_subscription.work[1]"))
    exp.missing.add("aws_sns_topic_subscription.work[1]")
    c("iam").delete_group(GroupName="group-1")
    exp.missing.add("aws_iam_group.g[1]")
    c("secretsmanager").delete_secret(
        SecretId=g.id("aws_secretsmanager_secret.s[0]"), ForceDeleteWithoutRecovery=True
    )
    exp.missing.add("aws_secretsmanager_secret.s[0]")
    c("ecr").delete_repository(repositoryName="repo-api")
    exp.missing.add('aws_ecr_repository.r["api"]')
    c("logs").delete_log_group(logGroupName="/golden/encrypted")
    exp.missing.add("aws_cloudwatch_log_group.enc")
    c("kms").delete_alias(AliasName="alias/golden-logs")
    exp.missing.add('aws_kms_alias.a["logs"]')
    txt = g.attrs("aws_route53_record.txt")
    c("route53").change_resource_record_sets(
        HostedZoneId=txt["zone_id"],
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
            "Name": txt["name"], "Type": "TXT", "TTL": 60,
            "ResourceRecords": [{"Value": f'"{v}"'} for v in txt["records"]],
        }}]},
    )  # fmt: skip
    exp.missing.add("aws_route53_record.txt")
    alt = g.attrs('aws_security_group_rule.app_in["alt"]')
    c("ec2").revoke_security_group_ingress(
        GroupId=alt["security_group_id"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.2.0.0/16"}]}
        ],
    )
    exp.missing.add('aws_security_group_rule.app_in["alt"]')


def _hand_made(g: Golden, exp: Expected) -> None:
    c = boto3.client
    c("s3").create_bucket(Bucket="golden-hand-made")
    exp.unmanaged.add(("aws_s3_bucket", "golden-hand-made"))
    url = c("sqs").create_queue(QueueName="golden-hand")["QueueUrl"]
    exp.unmanaged.add(("aws_sqs_queue", url))
    c("iam").create_user(UserName="mallory")
    exp.unmanaged.add(("aws_iam_user", "mallory"))
    c("iam").attach_role_policy(RoleName="golden-app", PolicyArn=g.id("aws_iam_policy.boundary"))
    exp.unmanaged.add(("aws_iam_role_policy_attachment", f"golden-app/{g.id('aws_iam_policy.boundary')}"))
    sg = c("ec2").create_security_group(
        GroupName="hand-sg", Description="by hand", VpcId=g.id("aws_vpc.apps")
    )
    exp.unmanaged.add(("aws_security_group", sg["GroupId"]))
    c("ssm").put_parameter(Name="/golden/hand", Value="x", Type="String")
    exp.unmanaged.add(("aws_ssm_parameter", "/golden/hand"))
    c("logs").create_log_group(logGroupName="/hand/made")
    exp.unmanaged.add(("aws_cloudwatch_log_group", "/hand/made"))
    key = c("kms").create_key(Description="by hand")["KeyMetadata"]["KeyId"]
    exp.unmanaged.add(("aws_kms_key", key))
    # An instance (its root volume is an implicit child: a default, not unmanaged) ...
    instance = c("ec2").run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t3.nano",
        MinCount=1,
        MaxCount=1,
        SubnetId=g.id("aws_subnet.apps[1]"),
    )["Instances"][0]["InstanceId"]
    exp.unmanaged.add(("aws_instance", instance))
    # ... given a managed elastic IP: the EIP drifts (a NAT gateway's association would not).
    c("ec2").associate_address(AllocationId=g.id("aws_eip.nat[1]"), InstanceId=instance)
    exp.change("aws_eip.nat[1]", "instance", ("", instance))
    exp.change("aws_eip.nat[1]", "network_interface")
    zone = g.id("aws_route53_zone.pub")
    c("route53").change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "hand.golden-example.com", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.99"}],
        }}]},
    )  # fmt: skip
    exp.unmanaged.add(("aws_route53_record", record_id(zone, "hand.golden-example.com", "A")))
