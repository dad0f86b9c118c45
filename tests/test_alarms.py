"""alarms: what each alarm watches, with which threshold, notifying whom; nothing when alarms: is absent."""

from __future__ import annotations

import json

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import load_config, parse_config
from tests.conftest import ROOT

STACK = """name: alm
environment: prod
alarms:
  emails: [ops@example.com]
  cpu_high: 85
services:
  - {name: api, image: nginx, port: 80, alarms: {http_5xx: 50}}
  - {name: api2, image: nginx, port: 80}
  - {name: web, kind: web-service, image: nginx, port: 80, https: false, load_balancer: classic}
  - {name: shr, image: nginx, port: 80, load_balancer: shared}
  - {name: jobs, kind: worker, image: busybox}
"""


def compiled(text: str = STACK) -> dict[str, dict]:
    return {name: json.loads(body) for name, body in compile_stack(parse_config(text)).files.items()}


def service(files: dict[str, dict], logical_id: str) -> tuple[dict, dict]:
    nested = files["stack.json"]["Resources"][logical_id]["Properties"]
    return files[nested["TemplateURL"]]["Resources"], nested["Parameters"]


def alarms_of(resources: dict) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_no_alarms_setting_makes_no_alarm_topic_or_notification() -> None:
    files = {name: body for name, body in compile_stack(load_config(ROOT / "stack.yaml")).files.items()}
    for name, body in files.items():
        assert "AlarmTopic" not in body and "NotificationConfigurations" not in body, name


def test_every_service_alarms_on_cpu_memory_and_missing_tasks_to_the_topic() -> None:
    files = compiled()
    for logical in ("ApiService", "WebService", "ShrService", "JobsService"):
        resources, params = service(files, logical)
        found = alarms_of(resources)
        assert {"CpuHighAlarm", "MemoryHighAlarm", "TasksMissingAlarm"} <= set(found), logical
        assert params["AlarmTopic"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.AlarmTopic"]} and params["CpuHigh"] == 85
        cpu = found["CpuHighAlarm"]
        assert (cpu["Namespace"], cpu["MetricName"], cpu["Threshold"]) == ("AWS/ECS", "CPUUtilization", {"Ref": "CpuHigh"})
        assert [d["Name"] for d in cpu["Dimensions"]] == ["ClusterName", "ServiceName"]
        assert all(a["AlarmActions"] == a["OKActions"] for a in found.values())
        missing = found["TasksMissingAlarm"]["Metrics"]
        assert [m["Id"] for m in missing] == ["desired", "running", "missing"] and missing[2]["Expression"] == "desired - running"
    assert "Http5xxAlarm" not in alarms_of(service(files, "JobsService")[0]), "a worker has no load balancer"


def test_load_balancer_alarms_use_each_kinds_metrics() -> None:
    files = compiled()
    alb = alarms_of(service(files, "ApiService")[0])["Http5xxAlarm"]
    assert (alb["Namespace"], alb["MetricName"]) == ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
    assert alb["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]}
    classic = alarms_of(service(files, "WebService")[0])
    assert (classic["Http5xxAlarm"]["Namespace"], classic["Http5xxAlarm"]["MetricName"]) == ("AWS/ELB", "HTTPCode_Backend_5XX")
    assert classic["UnhealthyTargetsAlarm"]["Dimensions"] == [{"Name": "LoadBalancerName", "Value": {"Ref": "LoadBalancer"}}]
    shared = alarms_of(service(files, "ShrService")[0])["UnhealthyTargetsAlarm"]
    assert shared["Dimensions"][0]["Value"]["Fn::Select"][0] == {"Ref": "BalancerIndex"}
    assert service(files, "ShrService")[1]["BalancerFullNames"] == {"Fn::GetAtt": ["IngressStack", "Outputs.InternalFullNames"]}


def test_a_services_own_threshold_is_a_parameter_so_alike_services_share_a_template() -> None:
    files = compiled()
    api, api2 = files["stack.json"]["Resources"]["ApiService"]["Properties"], files["stack.json"]["Resources"]["Api2Service"]["Properties"]
    assert (api["Parameters"]["Http5xx"], api2["Parameters"]["Http5xx"]) == (50, 10)
    assert api["TemplateURL"] == api2["TemplateURL"]


def test_network_topic_nat_alarms_and_cluster_alarms() -> None:
    files = compiled()
    network = files["network.json"]["Resources"]
    assert network["NotificationTopic"]["Properties"]["Subscription"] == [{"Endpoint": "ops@example.com", "Protocol": "email"}]
    nat = [k for k, r in network.items() if k.endswith("PortAllocationAlarm")]
    assert [network[k]["Condition"] for k in sorted(nat)] == ["UseNatGateways", "NatGatewayPerZone", "NatGatewayPerZone"], "as their gateways"
    assert network[nat[0]]["Properties"]["MetricName"] == "ErrorPortAllocation"
    cluster = files["cluster.json"]["Resources"]
    below = cluster["InstancesBelowMinimumAlarm"]["Properties"]
    assert (below["MetricName"], below["Threshold"], below["ComparisonOperator"]) == ("GroupInServiceInstances", {"Ref": "EcsMinSize"}, "LessThanThreshold")
    asg = cluster["AutoScalingGroup"]["Properties"]
    assert asg["NotificationConfigurations"][0]["TopicARN"] == {"Ref": "AlarmTopic"}
    assert asg["MetricsCollection"] == [{"Granularity": "1Minute", "Metrics": ["GroupInServiceInstances"]}]


def test_an_existing_topic_is_used_and_notifications_can_be_off() -> None:
    arn = "arn:aws:sns:us-west-2:123456789012:alerts"
    files = compiled(f"name: a\nenvironment: prod\nalarms: {{topic_arn: '{arn}', asg_notifications: false}}\n")
    assert files["stack.json"]["Parameters"]["AlarmTopicArn"]["Default"] == arn
    assert files["network.json"]["Resources"]["NotificationTopic"]["Condition"] == "MakeAlarmTopic"
    assert "NotificationConfigurations" not in files["cluster.json"]["Resources"]["AutoScalingGroup"]["Properties"]
