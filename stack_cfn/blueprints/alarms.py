"""Alarms and notifications (model/alarms.py): the topic in the network layer, the cluster's and each service's alarms.

Every alarm notifies the stack's topic when it fires and when it clears; missing data is not a
breach (a new or idle service has no 5xx metric at all).
"""

from __future__ import annotations

from awacs import kms as awacs_kms
from awacs.aws import Allow, ArnEquals, Condition, Policy, Principal, Statement, StringEquals
from troposphere import AccountId, Equals, GetAtt, If, Join, Partition, Ref, Template, autoscaling, cloudwatch, kms, sns

from stack_cfn.blueprints.cluster_contract import Cluster as C
from stack_cfn.blueprints.contract import Declared
from stack_cfn.blueprints.network_contract import Network as N
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.suppressions import TOPIC_KEY_PUBLISHERS, skipping

MAKE_TOPIC = "MakeAlarmTopic"
ASG_NOTIFICATIONS = ["autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE",
                     "autoscaling:EC2_INSTANCE_LAUNCH_ERROR", "autoscaling:EC2_INSTANCE_TERMINATE_ERROR"]


def alarm(logical_id: str, topic: object, description: str, **properties: object) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(logical_id, AlarmDescription=description, AlarmActions=[topic], OKActions=[topic], TreatMissingData="notBreaching",
                            **properties)


def dimensions(**values: object) -> list[cloudwatch.MetricDimension]:
    return [cloudwatch.MetricDimension(Name=name, Value=value) for name, value in values.items()]


# ---------------------------------------------------------------- network


# Who publishes to the topic, and so must be able to use its key (SNS developer guide, "Enable compatibility
# between event sources from AWS services and encrypted topics": kms:GenerateDataKey* and kms:Decrypt).
PUBLISH_KEY_ACTIONS = [awacs_kms.Decrypt, awacs_kms.Action("GenerateDataKey*")]
ASG_SERVICE_LINKED_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def topic_key_policy() -> Policy:
    """The topic key's policy: the account administers it (KMS "Default key policy"); CloudWatch alarms and Auto Scaling
    notifications may encrypt with it.

    CloudWatch cannot publish to a topic encrypted with the AWS-managed alias/aws/sns: its policy cannot be edited and
    does not admit cloudwatch.amazonaws.com (AWS knowledge center "cloudwatch-receive-sns-for-alarm-trigger" and
    "cloudwatch-configure-alarm-sns"; aws-cdk#11121), so every alarm would fail silently. Auto Scaling publishes as
    its service-linked role (EC2 Auto Scaling user guide, "Service-linked roles"), which a key policy may name as a
    principal only once the role exists; a new account has none before its first group, so the statement names every
    principal and narrows it by condition to that role of this account."""
    account = Join("", ["arn:", Partition, ":iam::", AccountId, ":root"])
    asg_role = Join("", ["arn:", Partition, ":iam::", AccountId, ":", ASG_SERVICE_LINKED_ROLE])
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="AccountAdministers", Effect=Allow, Principal=Principal("AWS", [account]), Action=[awacs_kms.Action("*")], Resource=["*"]),
        Statement(Sid="CloudWatchAlarmsPublish", Effect=Allow, Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                  Action=PUBLISH_KEY_ACTIONS, Resource=["*"]),
        Statement(Sid="AutoScalingNotificationsPublish", Effect=Allow, Principal=Principal("AWS", ["*"]), Action=PUBLISH_KEY_ACTIONS,
                  Resource=["*"], Condition=Condition([ArnEquals("aws:PrincipalArn", asg_role), StringEquals("kms:CallerAccount", AccountId)])),
    ])


def add_topic(t: Template, p: Declared, emails: tuple[str, ...]) -> object:
    """The stack's topic (unless AlarmTopicArn names one), its e-mail subscriptions, encrypted with a key of its own that
    CloudWatch and Auto Scaling may use (see topic_key_policy); returns its ARN."""
    t.add_condition(MAKE_TOPIC, Equals(p[N.AlarmTopicArn], ""))
    key = t.add_resource(kms.Key(
        "NotificationKey", Condition=MAKE_TOPIC, Description="Encrypts the alarm topic; CloudWatch alarms and Auto Scaling may publish with it",
        EnableKeyRotation=True, KeyPolicy=topic_key_policy(), Metadata=skipping(TOPIC_KEY_PUBLISHERS)))
    topic = t.add_resource(sns.Topic(
        "NotificationTopic", Condition=MAKE_TOPIC, KmsMasterKeyId=Ref(key),
        Subscription=[sns.Subscription(Protocol="email", Endpoint=address) for address in emails]))
    return If(MAKE_TOPIC, Ref(topic), p[N.AlarmTopicArn])


def add_nat_alarm(t: Template, p: Declared, topic: object, gateway: object, zone: int, condition: str) -> None:
    t.add_resource(alarm(
        f"NatGateway{zone}PortAllocationAlarm", topic, f"NAT gateway {zone}: connections failing for want of source ports",
        Condition=condition, Namespace="AWS/NATGateway", MetricName="ErrorPortAllocation", Dimensions=dimensions(NatGatewayId=Ref(gateway)),  # type: ignore[arg-type]
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=p[N.NatPortErrors], ComparisonOperator="GreaterThanOrEqualToThreshold"))


# ---------------------------------------------------------------- cluster


def cluster_alarms(t: Template, p: Declared, asg: autoscaling.AutoScalingGroup, notify: bool) -> None:
    """Instances in service below ecs_min_size (instances unhealthy or failing to launch), and the group's notifications."""
    topic = p[C.AlarmTopic]
    asg.MetricsCollection = [autoscaling.MetricsCollection(Granularity="1Minute", Metrics=["GroupInServiceInstances"])]
    if notify:
        asg.NotificationConfigurations = [autoscaling.NotificationConfigurations(TopicARN=topic, NotificationTypes=ASG_NOTIFICATIONS)]
    t.add_resource(alarm(
        "InstancesBelowMinimumAlarm", topic, "Fewer container instances in service than ecs_min_size for 10 minutes",
        Namespace="AWS/AutoScaling", MetricName="GroupInServiceInstances", Dimensions=dimensions(AutoScalingGroupName=Ref(asg)),
        Statistic="Minimum", Period=300, EvaluationPeriods=2, Threshold=p[C.EcsMinSize], ComparisonOperator="LessThanThreshold"))


# ---------------------------------------------------------------- services


def service_alarms(t: Template, p: Declared, cluster: object, service: object, balancer: object | None, topic: object) -> None:
    """CPU and memory high, fewer tasks running than desired, and behind a load balancer 5xx responses and unhealthy targets."""
    ecs = dimensions(ClusterName=cluster, ServiceName=GetAtt(service, "Name"))
    for logical, metric, threshold in (("CpuHighAlarm", "CPUUtilization", S.CpuHigh), ("MemoryHighAlarm", "MemoryUtilization", S.MemoryHigh)):
        t.add_resource(alarm(logical, topic, f"The service's average {metric} at or above the threshold for 10 minutes",
                             Namespace="AWS/ECS", MetricName=metric, Dimensions=ecs, Statistic="Average", Period=300, EvaluationPeriods=2,
                             Threshold=p[threshold], ComparisonOperator="GreaterThanOrEqualToThreshold"))
    insight = lambda name: cloudwatch.MetricStat(  # noqa: E731
        Metric=cloudwatch.Metric(Namespace="ECS/ContainerInsights", MetricName=name, Dimensions=ecs), Period=60, Stat="Average")
    t.add_resource(alarm(
        "TasksMissingAlarm", topic, "Fewer tasks running than desired (Container Insights)", EvaluationPeriods=p[S.TasksMissingMinutes],
        Threshold=0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[cloudwatch.MetricDataQuery(Id="desired", MetricStat=insight("DesiredTaskCount"), ReturnData=False),
                 cloudwatch.MetricDataQuery(Id="running", MetricStat=insight("RunningTaskCount"), ReturnData=False),
                 cloudwatch.MetricDataQuery(Id="missing", Expression="desired - running", Label="tasks missing", ReturnData=True)]))
    if balancer is not None:
        namespace, five_xx, dims = balancer.alarm_metrics  # type: ignore[attr-defined]
        t.add_resource(alarm("Http5xxAlarm", topic, "Target 5xx responses in 5 minutes at or above the threshold", Namespace=namespace,
                             MetricName=five_xx, Dimensions=dims, Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=p[S.Http5xx],
                             ComparisonOperator="GreaterThanOrEqualToThreshold"))
        t.add_resource(alarm("UnhealthyTargetsAlarm", topic, "Unhealthy targets at or above the threshold for 10 minutes", Namespace=namespace,
                             MetricName="UnHealthyHostCount", Dimensions=dims, Statistic="Maximum", Period=300, EvaluationPeriods=2,
                             Threshold=p[S.UnhealthyTargets], ComparisonOperator="GreaterThanOrEqualToThreshold"))
