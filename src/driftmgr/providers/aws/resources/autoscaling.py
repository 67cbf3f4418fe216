"""Auto Scaling: aws_autoscaling_group.

The instances a group launches are discovered as aws_instance and flagged as its implicit children
there (ec2_compute). Configuration-only arguments (`force_delete`, `wait_for_capacity_timeout`,
`initial_lifecycle_hook`, `instance_refresh`, …) are left out: unknown, never drift.
"""

from __future__ import annotations

from typing import Any

from driftmgr.providers.aws.resources.ec2_security import cty_set_order, name_prefix_from_name
from driftmgr.providers.base import ResourceType, Scope, register_type


def _launch_template(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not spec:
        return []
    return [
        {
            "id": spec.get("LaunchTemplateId", ""),
            "name": spec.get("LaunchTemplateName", ""),
            "version": spec.get("Version", ""),
        }
    ]


def _asg_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    name = item["AutoScalingGroupName"]
    metrics = item.get("EnabledMetrics") or []
    policies = item.get("TerminationPolicies") or []
    subnets = [s for s in str(item.get("VPCZoneIdentifier") or "").split(",") if s]
    maintenance = item.get("InstanceMaintenancePolicy")
    attrs: dict[str, Any] = {
        "arn": item.get("AutoScalingGroupARN"),
        "name": name,
        "name_prefix": name_prefix_from_name(name),
        "min_size": item.get("MinSize"),
        "max_size": item.get("MaxSize"),
        "desired_capacity": item.get("DesiredCapacity"),
        "desired_capacity_type": item.get("DesiredCapacityType", ""),
        "default_cooldown": item.get("DefaultCooldown"),
        "default_instance_warmup": int(item.get("DefaultInstanceWarmup") or 0),
        "health_check_type": item.get("HealthCheckType"),
        "health_check_grace_period": item.get("HealthCheckGracePeriod"),
        "capacity_rebalance": bool(item.get("CapacityRebalance")),
        "context": item.get("Context", ""),
        "launch_configuration": item.get("LaunchConfigurationName", ""),
        "launch_template": _launch_template(item.get("LaunchTemplate")),
        "placement_group": item.get("PlacementGroup", ""),
        "max_instance_lifetime": int(item.get("MaxInstanceLifetime") or 0),
        "protect_from_scale_in": bool(item.get("NewInstancesProtectedFromScaleIn")),
        "service_linked_role_arn": item.get("ServiceLinkedRoleARN", ""),
        "predicted_capacity": int(item.get("PredictedCapacity") or 0),
        "warm_pool_size": int(item.get("WarmPoolSize") or 0),
        "availability_zones": cty_set_order(item.get("AvailabilityZones") or []),
        "vpc_zone_identifier": cty_set_order(subnets),
        "load_balancers": cty_set_order(item.get("LoadBalancerNames") or []),
        "target_group_arns": cty_set_order(item.get("TargetGroupARNs") or []),
        "enabled_metrics": cty_set_order(m["Metric"] for m in metrics),
        "suspended_processes": cty_set_order(p["ProcessName"] for p in item.get("SuspendedProcesses") or []),
        # The provider clears a lone "Default" policy it did not configure.
        "termination_policies": [] if policies == ["Default"] else list(policies),
        "tag": cty_set_order(
            {
                "key": t["Key"],
                "propagate_at_launch": bool(t.get("PropagateAtLaunch")),
                "value": t.get("Value", ""),
            }
            for t in item.get("Tags") or []
            if not str(t.get("Key", "")).startswith("aws:")
        ),
        "instance_maintenance_policy": [
            {
                "max_healthy_percentage": maintenance.get("MaxHealthyPercentage"),
                "min_healthy_percentage": maintenance.get("MinHealthyPercentage"),
            }
        ]
        if maintenance
        else [],
    }
    if metrics:
        attrs["metrics_granularity"] = metrics[0].get("Granularity")
    if not item.get("MixedInstancesPolicy"):
        attrs["mixed_instances_policy"] = []
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_autoscaling_group",
        service="autoscaling",
        list_call="describe_auto_scaling_groups",
        result_key="AutoScalingGroups",
        id_key="AutoScalingGroupName",
        to_attributes=_asg_attributes,
    ),
)
