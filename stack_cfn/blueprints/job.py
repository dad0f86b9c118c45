"""Job templates (`jobs:`): a task definition EventBridge Scheduler runs on a schedule. Contract beside builder.

One nested stack per job: the services' task definition (blueprints/task.py: log group, execution role,
task role, the container), an EventBridge Scheduler schedule whose target is ECS RunTask on the stack's
cluster, the role the scheduler assumes for it, a dead-letter queue for starts that fail, and (with the
stack's `alarms:`) alarms on that queue and on the job's tasks stopping with a non-zero exit code.

The AWS rules it follows (each checked against the reference, cited where used):
- EventBridge Scheduler User Guide, "Set up the execution role": the role trusts scheduler.amazonaws.com,
  with aws:SourceAccount against the confused deputy; for an ECS RunTask target it needs ecs:RunTask on the
  task definition and iam:PassRole on the task's roles; for a dead-letter queue, sqs:SendMessage on that queue
  ("Configuring a schedule's dead-letter queue": the permission is the execution role's; no queue policy).
- The dead-letter queue is a standard queue ("EventBridge Scheduler does not support using a FIFO queue"),
  encrypted with SQS-managed keys (SqsManagedSseEnabled), which needs no KMS permission of the scheduler.
- No schedule Name: CloudFormation generates one (AWS::Scheduler::Schedule Name: at most 64 of
  [0-9a-zA-Z-_.]), and a generated name lets CloudFormation replace it.
- ECS RunTask: a task started without `group` is in group `family:<family>` (ECS API reference, RunTask),
  which the failure rule matches; EventBridge's ECS "Task State Change" events carry lastStatus, group and
  each container's exitCode (ECS developer guide, "Amazon ECS task state change events").
"""

from __future__ import annotations

import dataclasses
from typing import Any

from awacs import ecs as awacs_ecs
from awacs import iam as awacs_iam
from awacs import sqs as awacs_sqs
from awacs.aws import Allow, ArnEquals, Condition, Policy, Statement, StringEquals
from troposphere import Equals, GetAtt, If, Join, Not, Ref, Template, events, iam, scheduler, sqs

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.alarms import alarm, dimensions
from stack_cfn.blueprints.common import emit, new_template
from stack_cfn.blueprints.contract import Contract, Declared, Out, Param, PerService, Wired, declare
from stack_cfn.blueprints.interfaces import Cluster, Network, database_params
from stack_cfn.blueprints.interfaces import Service as S
from stack_cfn.blueprints.parts import wiring_values
from stack_cfn.blueprints.task import HAS_TASK_ROLE, add_task
from stack_cfn.model import rules as R
from stack_cfn.model.jobs import JobConfig

FLEXIBLE = "Flexible"
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, SQS's longest MessageRetentionPeriod (AWS::SQS::Queue reference)


@dataclasses.dataclass(frozen=True)
class JobShape:
    """What a job template depends on: the job, and whether the stack has alarms (and so a topic)."""

    job: JobConfig
    alarmed: bool = False

    @property
    def model(self) -> type:
        return JobConfig

    @property
    def alarms(self) -> object:
        return True if self.alarmed else None

    def __getattr__(self, name: str) -> Any:
        if name == "job":
            raise AttributeError(name)
        return getattr(self.job, name)


def _fargate(s: Any) -> bool:
    return bool(getattr(s, "on_fargate", False))


def _alarmed(s: Any) -> bool:
    return bool(getattr(s, "alarmed", False))


class Job(Contract):
    """job-<hash>.json: a scheduled job. Its task parameters are the services' own rows (same names, same rules)."""

    StackName = S.StackName
    Name = S.Name
    Image = S.Image
    Version = S.Version
    Cpu = S.Cpu
    Memory = S.Memory
    LogRetentionDays = S.LogRetentionDays
    TaskRoleArn = S.TaskRoleArn
    ScheduleExpression = Param("EventBridge Scheduler expression: rate(...), cron(...) (six fields) or at(...)", setting="schedule", supply=PerService())
    ScheduleTimezone = Param("IANA time zone of the expression", setting="schedule_timezone", supply=PerService())
    ScheduleState = Param("ENABLED, or DISABLED to keep the schedule without starting the job", rule=R.OneOf(("ENABLED", "DISABLED")),
                          supply=PerService(), default="ENABLED", value=lambda s: "ENABLED" if s.enabled else "DISABLED")
    Retries = Param("Times EventBridge Scheduler retries starting the task", "Number", setting="retries", supply=PerService())
    RetrySeconds = Param("Seconds EventBridge Scheduler keeps retrying", "Number", setting="retry_seconds", supply=PerService())
    FlexibleWindow = Param("Minutes within which the job may start; 0 starts it on time", "Number", rule=R.Range(0, 1440), supply=PerService(),
                           default=0, value=lambda s: s.flexible_window or 0)
    ClusterArn = Param("ECS cluster ARN, the schedule's target", supply=Wired(lambda s: Cluster.ClusterArn), default="")
    CapacityProvider = Param("The cluster's capacity provider (EC2 jobs)", supply=Wired(lambda s: Cluster.CapacityProvider), default="",
                             when=lambda s: not _fargate(s))
    Subnets = Param("Subnets of the job's tasks (Fargate)", "CommaDelimitedList", supply=Wired(lambda s: Network.InternalSubnets), default="",
                    when=_fargate)
    TaskSecurityGroup = Param("Security group of the job's tasks (Fargate): the container instances', which the databases admit",
                              supply=Wired(lambda s: Cluster.EcsClusterSecurityGroupId), default="", when=_fargate)
    AlarmTopic = Param("SNS topic the job's alarms notify", supply=Wired(lambda s: Network.AlarmTopic), default="", when=_alarmed)

    TaskDefinition = Out("The job's task definition (ARN with revision)", export=False)
    LogGroup = Out("CloudWatch Logs group of the job's containers", export=False)
    ScheduleName = Out("The EventBridge Scheduler schedule (in the default group)", export=False)
    DeadLetterQueue = Out("SQS queue of the starts EventBridge Scheduler gave up on", export=False)

    @classmethod
    def declared(cls, shape: object) -> list[Param]:
        return [*super().declared(shape), *database_params(shape)]


def describe(shape: JobShape) -> str:
    return f"stack-cfn job: a container EventBridge Scheduler runs on a schedule, on {'Fargate' if shape.on_fargate else 'EC2'}"


def build_job(shape: JobShape) -> Template:
    t = new_template(describe(shape))
    p = declare(t, Job, shape)
    wiring = wiring_values(t, shape, p, Job)
    task, log_group = add_task(t, shape.task, p, dynamic_host_ports=False, host_port=None, wiring=wiring)
    if shape.on_fargate:
        _on_fargate(task, p)
    queue = t.add_resource(sqs.Queue("DeadLetterQueue", SqsManagedSseEnabled=True, MessageRetentionPeriod=DLQ_RETENTION_SECONDS))
    role = t.add_resource(iam.Role("SchedulerRole", AssumeRolePolicyDocument=policies.trust("scheduler.amazonaws.com", same_account=True),
                                   Policies=[iam.Policy(PolicyName="run-the-job", PolicyDocument=_scheduler_policy(t, task, queue, wiring))]))
    t.add_condition(FLEXIBLE, Not(Equals(p[Job.FlexibleWindow], 0)))
    schedule = t.add_resource(scheduler.Schedule(
        "Schedule", Description=Join("", ["stack-cfn job ", p[Job.Name]]),
        ScheduleExpression=p[Job.ScheduleExpression], ScheduleExpressionTimezone=p[Job.ScheduleTimezone], State=p[Job.ScheduleState],
        FlexibleTimeWindow=If(FLEXIBLE, scheduler.FlexibleTimeWindow(Mode="FLEXIBLE", MaximumWindowInMinutes=p[Job.FlexibleWindow]),
                              scheduler.FlexibleTimeWindow(Mode="OFF")),
        Target=scheduler.Target(
            Arn=wiring[Job.ClusterArn.name], RoleArn=GetAtt(role, "Arn"),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
            RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=p[Job.Retries], MaximumEventAgeInSeconds=p[Job.RetrySeconds]),
            EcsParameters=_ecs_parameters(shape, task, wiring))))
    if shape.alarmed:
        _alarms(t, shape, queue, wiring)
    emit(t, Job.TaskDefinition, task.ref())
    emit(t, Job.LogGroup, log_group.ref())
    emit(t, Job.ScheduleName, schedule.ref())
    emit(t, Job.DeadLetterQueue, queue.ref())
    return t


def _on_fargate(task: Any, p: Declared) -> None:
    """The services' task definition, made a Fargate one: awsvpc, FARGATE, and the task-level size Fargate requires
    (ECS developer guide, "Amazon ECS task definition parameters for Fargate": cpu and memory at task level)."""
    task.NetworkMode = "awsvpc"
    task.RequiresCompatibilities = ["FARGATE"]
    task.Cpu = p[Job.Cpu]
    task.Memory = p[Job.Memory]


def _ecs_parameters(shape: JobShape, task: Any, wiring: dict[str, Any]) -> scheduler.EcsParameters:
    if shape.on_fargate:
        network = scheduler.NetworkConfiguration(AwsvpcConfiguration=scheduler.AwsVpcConfiguration(
            Subnets=wiring[Job.Subnets.name], SecurityGroups=[wiring[Job.TaskSecurityGroup.name]], AssignPublicIp="DISABLED"))
        return scheduler.EcsParameters(TaskDefinitionArn=task.ref(), TaskCount=1, LaunchType="FARGATE", NetworkConfiguration=network)
    # The cluster's capacity provider, as the services use it: with ecs_scaling: managed the job's task counts towards scaling.
    return scheduler.EcsParameters(TaskDefinitionArn=task.ref(), TaskCount=1, CapacityProviderStrategy=[
        scheduler.CapacityProviderStrategyItem(CapacityProvider=wiring[Job.CapacityProvider.name], Weight=1)])


def _scheduler_policy(t: Template, task: Any, queue: sqs.Queue, wiring: dict[str, Any]) -> Policy:
    """ecs:RunTask on exactly this task definition revision (its Ref, an ARN ending in :<revision>) in this cluster, iam:PassRole
    on exactly the task's execution and task roles (only to ECS tasks), sqs:SendMessage on the dead-letter queue."""
    task_role = If(HAS_TASK_ROLE, Ref(S.TaskRoleArn.name), GetAtt("TaskRole", "Arn"))
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="RunTheJob", Effect=Allow, Action=[awacs_ecs.RunTask], Resource=[task.ref()],
                  Condition=Condition(ArnEquals("ecs:cluster", wiring[Job.ClusterArn.name]))),
        Statement(Sid="PassTheTaskRoles", Effect=Allow, Action=[awacs_iam.PassRole], Resource=[GetAtt("ExecutionRole", "Arn"), task_role],
                  Condition=Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
        Statement(Sid="DeadLetters", Effect=Allow, Action=[awacs_sqs.SendMessage], Resource=[GetAtt(queue, "Arn")]),
    ])


def _alarms(t: Template, shape: JobShape, queue: sqs.Queue, wiring: dict[str, Any]) -> None:
    """Two ways a run fails: EventBridge Scheduler gave up starting it (a message in the dead-letter queue), or its task
    stopped with a non-zero exit code (an EventBridge rule on the ECS task state change; its TriggeredRules metric)."""
    topic = wiring[Job.AlarmTopic.name]
    t.add_resource(alarm("StartFailedAlarm", topic, "EventBridge Scheduler could not start the job (a message in its dead-letter queue)",
                         Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible", Dimensions=dimensions(QueueName=GetAtt(queue, "QueueName")),
                         Statistic="Maximum", Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold"))
    rule = t.add_resource(events.Rule("TaskFailedRule", Description=Join("", ["stack-cfn job ", Ref(S.Name.name), ": a task exited non-zero"]),
                                      State="ENABLED", EventPattern={
                                          "source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
                                          "detail": {"clusterArn": [wiring[Job.ClusterArn.name]], "group": [Join("", ["family:", Ref(S.Name.name)])],
                                                     "lastStatus": ["STOPPED"], "containers": {"exitCode": [{"anything-but": 0}]}}}))
    t.add_resource(alarm("TaskFailedAlarm", topic, "A task of the job stopped with a non-zero exit code",
                         Namespace="AWS/Events", MetricName="TriggeredRules", Dimensions=dimensions(RuleName=rule.ref()),
                         Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold"))
