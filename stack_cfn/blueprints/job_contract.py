"""The job's contract (job-<hash>.json), beside its builder job.py: a scheduled job's parameters and outputs.

Its task parameters are the services' own rows (Name, Image, Version, Cpu, Memory, LogRetentionDays,
TaskRoleArn: the same names and rules), borrowed so that the services' task-definition builder
(blueprints/task.py) reads them from a job's template as from a service's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Contract, Out, Param, PerService, Wired
from stack_cfn.blueprints.database_contract import database_params
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.model import rules as R
from stack_cfn.model.jobs import TIMEOUT_MINUTES, JobConfig


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


def _timed(s: Any) -> bool:
    """A job with a `timeout`: its schedule starts a Step Functions state machine that runs the task (blueprints/job_timeout.py)."""
    return getattr(s, "timeout", None) is not None


class Job(Contract[JobShape]):
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
    TimeoutSeconds = Param("Seconds a run may take; Step Functions ends the execution (and stops the task) then", "Number",
                           rule=R.Range(TIMEOUT_MINUTES.low * 60, TIMEOUT_MINUTES.high * 60), supply=PerService(), value=lambda s: s.timeout_seconds, when=_timed)
    Environment = S.Environment
    ClusterArn = Param("ECS cluster ARN, the schedule's target", supply=Wired(lambda s: Cluster.Outputs.ClusterArn), default="")
    CapacityProvider = Param("The cluster's capacity provider (EC2 jobs)", supply=Wired(lambda s: Cluster.Outputs.CapacityProvider), default="",
                             when=lambda s: not _fargate(s))
    Subnets = Param("Subnets of the job's tasks (Fargate)", "CommaDelimitedList", supply=Wired(lambda s: Network.Outputs.InternalSubnets), default="",
                    when=_fargate)
    TaskSecurityGroup = Param("Security group of the job's tasks (Fargate): the container instances', which the databases admit",
                              supply=Wired(lambda s: Cluster.Outputs.EcsClusterSecurityGroupId), default="", when=_fargate)
    AlarmTopic = Param("SNS topic the job's alarms notify", supply=Wired(lambda s: Network.Outputs.AlarmTopic), default="", when=_alarmed)

    @classmethod
    def declared(cls, shape: JobShape) -> list[Param]:
        return [*super().declared(shape), *database_params(shape, Job)]

    class Outputs:
        TaskDefinition = Out("The job's task definition (ARN with revision)", export=False)
        LogGroup = Out("CloudWatch Logs group of the job's containers", export=False)
        ScheduleName = Out("The EventBridge Scheduler schedule (in the default group)", export=False)
        DeadLetterQueue = Out("SQS queue of the starts EventBridge Scheduler gave up on", export=False)
        StateMachine = Out("The Step Functions state machine the schedule starts (jobs with a timeout): its ARN", export=False, when=_timed)
