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

from collections.abc import Mapping
from typing import Any

from awacs import ecs as awacs_ecs
from awacs import iam as awacs_iam
from awacs import sqs as awacs_sqs
from awacs.aws import Allow, ArnEquals, Condition, Policy, Statement, StringEquals
from troposphere import Equals, GetAtt, If, Join, Not, Ref, Tags, Template, events, iam, scheduler, sqs

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.alarms import alarm, dimensions
from stack_cfn.blueprints.common import emit, new_template
from stack_cfn.blueprints.contract import Declared, declare
from stack_cfn.blueprints.drawing import Docs, cell
from stack_cfn.blueprints.job_contract import Job, JobShape
from stack_cfn.blueprints.job_timeout import add_machine_alarms, add_state_machine, start_execution
from stack_cfn.blueprints.parts import wiring_values
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.suppressions import DEAD_LETTER_SSE_SQS, skipping
from stack_cfn.blueprints.task import HAS_TASK_ROLE, add_task
from stack_cfn.model.config import StackConfig
from stack_cfn.model.jobs import JobConfig

FLEXIBLE = "Flexible"
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, SQS's longest MessageRetentionPeriod (AWS::SQS::Queue reference)


def describe(shape: JobShape) -> str:
    limit = ", through a Step Functions state machine that stops it at its timeout" if shape.timeout is not None else ""
    return f"stack-cfn job: a container EventBridge Scheduler runs on a schedule, on {'Fargate' if shape.on_fargate else 'EC2'}{limit}"


def build_job(shape: JobShape) -> Template:
    t = new_template(describe(shape))
    p = declare(t, Job, shape)
    wiring = wiring_values(t, shape, p, Job)
    task, log_group = add_task(t, shape.task, p, dynamic_host_ports=False, host_port=None, wiring=wiring)
    if shape.on_fargate:
        _on_fargate(task, p)
    queue = t.add_resource(sqs.Queue("DeadLetterQueue", SqsManagedSseEnabled=True, MessageRetentionPeriod=DLQ_RETENTION_SECONDS,
                                     Tags=Tags(Name=p[Job.Name], Environment=wiring[Job.Environment.name]), Metadata=skipping(DEAD_LETTER_SSE_SQS)))
    machine = add_state_machine(t, shape, task, p, wiring) if shape.timeout is not None else None
    role = t.add_resource(iam.Role("SchedulerRole", AssumeRolePolicyDocument=policies.trust("scheduler.amazonaws.com", same_account=True),
                                   Policies=[iam.Policy(PolicyName="run-the-job", PolicyDocument=_scheduler_policy(t, task, queue, wiring, machine))]))
    t.add_condition(FLEXIBLE, Not(Equals(p[Job.FlexibleWindow], 0)))
    started = {"Arn": machine.ref()} if machine else {"Arn": wiring[Job.ClusterArn.name], "EcsParameters": _ecs_parameters(shape, task, wiring)}
    schedule = t.add_resource(scheduler.Schedule(
        "Schedule", Description=Join("", ["stack-cfn job ", p[Job.Name]]),
        ScheduleExpression=p[Job.ScheduleExpression], ScheduleExpressionTimezone=p[Job.ScheduleTimezone], State=p[Job.ScheduleState],
        FlexibleTimeWindow=If(FLEXIBLE, scheduler.FlexibleTimeWindow(Mode="FLEXIBLE", MaximumWindowInMinutes=p[Job.FlexibleWindow]),
                              scheduler.FlexibleTimeWindow(Mode="OFF")),
        Target=scheduler.Target(
            RoleArn=GetAtt(role, "Arn"), DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
            RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=p[Job.Retries], MaximumEventAgeInSeconds=p[Job.RetrySeconds]), **started)))
    if shape.alarmed:
        _alarms(t, shape, queue, wiring)
        if machine:
            add_machine_alarms(t, machine, wiring[Job.AlarmTopic.name])
    emit(t, Job.Outputs.TaskDefinition, task.ref())
    emit(t, Job.Outputs.LogGroup, log_group.ref())
    emit(t, Job.Outputs.ScheduleName, schedule.ref())
    emit(t, Job.Outputs.DeadLetterQueue, queue.ref())
    if machine:
        emit(t, Job.Outputs.StateMachine, machine.ref())
    return t


def _on_fargate(task: Any, p: Declared) -> None:
    """The services' task definition, made a Fargate one: awsvpc, FARGATE, and the task-level size Fargate requires
    (ECS developer guide, "Amazon ECS task definition parameters for Fargate": cpu and memory at task level)."""
    for key, value in {"NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"], "Cpu": p[Job.Cpu], "Memory": p[Job.Memory]}.items():
        setattr(task, key, value)  # troposphere checks each property as it is set


def _ecs_parameters(shape: JobShape, task: Any, wiring: dict[str, Any]) -> scheduler.EcsParameters:
    if shape.on_fargate:
        network = scheduler.NetworkConfiguration(AwsvpcConfiguration=scheduler.AwsVpcConfiguration(
            Subnets=wiring[Job.Subnets.name], SecurityGroups=[wiring[Job.TaskSecurityGroup.name]], AssignPublicIp="DISABLED"))
        return scheduler.EcsParameters(TaskDefinitionArn=task.ref(), TaskCount=1, LaunchType="FARGATE", NetworkConfiguration=network)
    # The cluster's capacity provider, as the services use it: with ecs_scaling: managed the job's task counts towards scaling.
    return scheduler.EcsParameters(TaskDefinitionArn=task.ref(), TaskCount=1, CapacityProviderStrategy=[
        scheduler.CapacityProviderStrategyItem(CapacityProvider=wiring[Job.CapacityProvider.name], Weight=1)])


def _scheduler_policy(t: Template, task: Any, queue: sqs.Queue, wiring: dict[str, Any], machine: Any = None) -> Policy:
    """ecs:RunTask on exactly this task definition revision (its Ref, an ARN ending in :<revision>) in this cluster, iam:PassRole
    on exactly the task's execution and task roles (only to ECS tasks), sqs:SendMessage on the dead-letter queue. With a timeout
    the schedule starts the state machine instead: states:StartExecution on it (the state machine's role runs the task)."""
    task_role = If(HAS_TASK_ROLE, Ref(S.TaskRoleArn.name), GetAtt("TaskRole", "Arn"))
    dead_letters = Statement(Sid="DeadLetters", Effect=Allow, Action=[awacs_sqs.SendMessage], Resource=[GetAtt(queue, "Arn")])
    if machine is not None:
        return Policy(Version="2012-10-17", Statement=[start_execution(machine), dead_letters])
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="RunTheJob", Effect=Allow, Action=[awacs_ecs.RunTask], Resource=[task.ref()],
                  Condition=Condition(ArnEquals("ecs:cluster", wiring[Job.ClusterArn.name]))),
        Statement(Sid="PassTheTaskRoles", Effect=Allow, Action=[awacs_iam.PassRole], Resource=[GetAtt("ExecutionRole", "Arn"), task_role],
                  Condition=Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
        dead_letters,
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


# ---------------------------------------------------------------- what the registry (registry.py) names for this module


def job_shapes(cfg: StackConfig, seats: object) -> list[JobShape]:
    """A stack's jobs, each with whether the stack has alarms (and so a topic to notify)."""
    return [JobShape(job, alarmed=cfg.alarms is not None) for job in cfg.jobs]


def _timeout_cell(job: JobConfig) -> str:
    return "" if job.timeout is None else f", at most {job.timeout} min"


def job_table(cfg: StackConfig) -> list[str]:
    lines = ["| job | schedule | launch type | image | databases |", "|---|---|---|---|---|"]
    rows = [f"| `{j.name}` | {cell(j.schedule)} ({j.schedule_timezone}){_timeout_cell(j)} | {j.launch_type} | {cell(j.image)}:{cell(j.version)} | {', '.join(j.databases)} |"
            for j in cfg.jobs]
    return [*lines, *rows] if rows else []


GENERIC_JOBS: Mapping[str, JobShape] = {"job.json": JobShape(JobConfig(name="job", image="image", schedule="rate(1 hour)")),
                                        "job-timeout.json": JobShape(JobConfig(name="job", image="image", schedule="rate(1 hour)", timeout=60))}
JOB_DOCS = Docs("a container EventBridge Scheduler runs on a schedule (ECS RunTask, EC2 or Fargate), its dead-letter queue and failure alarms",
                settings=(("jobs[]", JobConfig),), key="jobs", noun="job", table=job_table)
