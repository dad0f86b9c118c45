"""Alarms and notifications on the local AWS, deployed through `stack-cfn deploy`.

moto 5.2.5 has no CloudFormation support for AWS::CloudWatch::Alarm: the stack deploys (moto
skips the type) and the alarms' presence through the CloudWatch API is a strict expected failure
naming that gap; what the alarms say (metric, dimensions, threshold, actions) is checked in the
compiled templates (tests/test_alarms.py). The topic and its subscriptions are real, through SNS.
"""

from __future__ import annotations

import botocore.exceptions
import botocore.parsers
import pytest
import yaml

from tests.conftest import AWS_ENV, all_exports, moto_gap, run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("alarms") / "stack.yaml"
    plain = {"log_retention_on_delete": False}
    config.write_text(yaml.safe_dump({
        "name": "alm", "environment": "test", "region": "us-east-1", "cidr": "10.93.0.0/16", "bastion": False,
        "alarms": {"emails": ["ops@example.com", "oncall@example.com"], "cpu_high": 85},
        "services": [{"name": "api", "image": "nginx", "port": 80, "alarms": {"http_5xx": 50}, **plain},
                     {"name": "jobs", "kind": "worker", "image": "busybox", **plain}]}))
    result = run_cli("deploy", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--bucket", "alarm-templates",
                     "--create-bucket", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return target, all_exports(target.client("cloudformation"))


def test_the_topic_has_its_email_subscriptions(deployed) -> None:  # noqa: ANN001
    target, exports = deployed
    topic = exports["alm-test-AlarmTopic"]
    subscriptions = target.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == [("email", "oncall@example.com"), ("email", "ops@example.com")]
    # Its own key, which CloudWatch may use: alias/aws/sns would silence every alarm (docs/real-aws.md).
    key = target.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId")
    assert key and key != "alias/aws/sns"
    policy = target.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert "cloudwatch.amazonaws.com" in str(policy)  # moto answers the document itself, AWS a JSON string


@moto_gap("no CloudFormation support for AWS::CloudWatch::Alarm: the stack's alarms are not created")
def test_each_alarm_exists_with_its_metric_dimensions_and_actions(deployed) -> None:  # noqa: ANN001
    target, exports = deployed
    alarms = {a["AlarmName"]: a for a in target.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    cpu = [a for a in alarms.values() if a.get("MetricName") == "CPUUtilization" and a.get("Namespace") == "AWS/ECS"
           and any(d["Name"] == "ServiceName" for d in a["Dimensions"])]  # CloudFormation names the service
    assert cpu and cpu[0]["Threshold"] == 85 and cpu[0]["AlarmActions"] == [exports["alm-test-AlarmTopic"]]


@moto_gap("DescribeNotificationConfigurations answers HTTP 500 (not implemented), so the group's notifications cannot be read back")
def test_the_group_notifies_the_topic_of_launches_and_terminations(deployed) -> None:  # noqa: ANN001
    target, exports = deployed
    group = exports["alm-test-AutoscalingGroup"]
    try:
        found = target.client("autoscaling").describe_notification_configurations(AutoScalingGroupNames=[group])["NotificationConfigurations"]
    except (botocore.exceptions.ClientError, botocore.parsers.ResponseParserError) as exc:
        raise AssertionError(f"the local AWS cannot describe notification configurations: {type(exc).__name__}") from None
    assert {n["NotificationType"] for n in found} >= {"autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"}
    assert {n["TopicARN"] for n in found} == {exports["alm-test-AlarmTopic"]}
