"""`stack-cfn run JOB [--follow]`: start one run of a scheduled job now, and optionally follow it to its exit code.

The use case takes a typed request and returns a typed result; the CLI renders it. What it starts is what the
schedule starts: the job's task definition (its nested stack's TaskDefinition output, so the deployed revision,
not the stack file's), in the stack's cluster; a Fargate job in the internal subnets with the container instances'
security group (the root's outputs), without a public IP. An EC2 job takes the cluster's default capacity provider
strategy (the cluster's capacity provider, as the services and the schedule use it).

A job with a `timeout` is started as its schedule starts it: an execution of its state machine, so that the limit
applies (ship/run_execution.py), and followed through the execution to its task.

Following polls ECS DescribeTasks until the task is STOPPED (ECS developer guide, "Amazon ECS task lifecycle": a
task ends STOPPED, its containers with an exit code unless they never started), and the run's exit code is the
job container's. A task that stops without one (the image could not be pulled, no capacity) is a failure with
ECS's stopped reason.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stack_cfn.blueprints.job_contract import Job
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.jobs import JobConfig
from stack_cfn.ship import run_execution
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.deploy import group_stacks, nested_stacks, read_outputs, stack_outputs
from stack_cfn.ship.polling import poll_until

STARTED_BY = "stack-cfn run"  # ECS RunTask startedBy: at most 128 characters


@dataclass(frozen=True)
class RunRequest:
    """Run `job` of the stack `stack` now; with `follow`, wait up to `wait_seconds` for it to stop."""

    job: str
    stack: str
    follow: bool = False
    wait_seconds: float = 3600.0
    poll_seconds: float = 6.0


@dataclass(frozen=True)
class RunResult:
    """The task started; when followed, how it ended."""

    job: str
    cluster: str
    task_arn: str
    task_definition: str
    last_status: str
    exit_code: int | None = None
    stopped_reason: str = ""
    log_group: str = ""
    execution_arn: str = ""  # a job with a timeout: the state machine's execution that runs the task
    timed_out: bool = False  # the execution ran past the job's timeout (Step Functions stopped it and, best-effort, the task)

    @property
    def task_id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]

    @property
    def succeeded(self) -> bool:
        return self.last_status == "STOPPED" and self.exit_code == 0 and not self.timed_out

    @property
    def log_stream(self) -> str:
        """awslogs' stream of the job's container: <prefix>/<container>/<task id> (blueprints/task.py: prefix = name)."""
        return f"{self.job}/{self.job}/{self.task_id}"


def job_named(cfg: StackConfig, name: str) -> JobConfig:
    job = next((j for j in cfg.jobs if j.name == name), None)
    if job is None:
        raise ConfigError(name, "is not a job of this stack", f"run one of: {', '.join(j.name for j in cfg.jobs) or '(none; add it under jobs:)'}")
    return job


def run_job(target: AwsTarget, cfg: StackConfig, request: RunRequest, waiting: Callable[[str], None] = lambda _: None) -> RunResult:
    """Start the job's deployed task definition once; with request.follow, wait until it stops."""
    job = job_named(cfg, request.job)
    root = read_outputs(target, request.stack)  # one line when the stack does not exist
    cfn = target.client("cloudformation")
    stack_id = job_stack(target, request.stack, job)
    if stack_id is None:
        raise DeployError(f"job {job.name} is not deployed in stack {request.stack}; deploy the stack file first (stack-cfn deploy)")
    outputs = stack_outputs(cfn, stack_id)
    task_definition, cluster = outputs.get(Job.Outputs.TaskDefinition.name, ""), root.get(Root.Outputs.Cluster.name, "")
    if not task_definition or not cluster:
        raise DeployError(f"stack {request.stack} has no task definition or cluster for job {job.name} yet; wait for its deploy to finish")
    if job.timeout is not None:
        return _run_execution(target, job, outputs, cluster, request, waiting)
    ecs = target.client("ecs")
    answer = ecs.run_task(cluster=cluster, taskDefinition=task_definition, count=1, startedBy=STARTED_BY, **_placement(job, root))
    tasks = answer.get("tasks", [])
    if not tasks:
        said = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in answer.get("failures", [])) or "no reason given"
        raise DeployError(f"ECS did not start job {job.name}: {said}")
    started = RunResult(job.name, cluster, tasks[0]["taskArn"], task_definition, tasks[0].get("lastStatus", "PROVISIONING"),
                        log_group=outputs.get(Job.Outputs.LogGroup.name, ""))
    return follow(target, started, request, waiting) if request.follow else started


def _run_execution(target: AwsTarget, job: JobConfig, outputs: dict[str, str], cluster: str, request: RunRequest,
                   waiting: Callable[[str], None]) -> RunResult:
    """A job with a timeout: start its state machine (what the schedule starts); with follow, wait for the execution and its task."""
    machine = outputs.get(Job.Outputs.StateMachine.name, "")
    if not machine:
        raise DeployError(f"job {job.name} has a timeout but its deployed stack has no state machine yet; deploy the stack file first (stack-cfn deploy)")
    execution_arn = run_execution.start(target, machine)
    started = RunResult(job.name, cluster, "", outputs.get(Job.Outputs.TaskDefinition.name, ""), "RUNNING",
                        log_group=outputs.get(Job.Outputs.LogGroup.name, ""), execution_arn=execution_arn)
    if not request.follow:
        return started
    wait = max(request.wait_seconds, (job.timeout_seconds or 0) + 300.0)  # the execution ends by the job's timeout; 5 minutes to stop the task
    execution, task_arn = run_execution.follow_execution(target, execution_arn, wait, request.poll_seconds, waiting)
    status = str(execution.get("status", "?"))
    why = " ".join(str(execution.get(k) or "") for k in ("error", "cause")).strip()
    if not task_arn:
        return dataclasses.replace(started, last_status=status, stopped_reason=why or f"the execution ended {status} before ECS started a task",
                                   timed_out=status == run_execution.TIMED_OUT)
    task_run = dataclasses.replace(started, task_arn=task_arn)
    if status == run_execution.TIMED_OUT:
        return dataclasses.replace(task_run, last_status=status, timed_out=True, stopped_reason=why)
    ended_run = follow(target, task_run, dataclasses.replace(request, wait_seconds=300.0), waiting)
    return ended_run if status == "SUCCEEDED" else dataclasses.replace(ended_run, stopped_reason=why or f"the execution ended {status}")


def job_stack(target: AwsTarget, stack: str, job: JobConfig) -> str | None:
    """The job's nested stack: in the root, or in the service group the placement put it in."""
    cfn = target.client("cloudformation")
    for top in (stack, *group_stacks(target, stack)):
        found = nested_stacks(cfn, top).get(job.logical_id)
        if found:
            return found
    return None


def _placement(job: JobConfig, root: dict[str, str]) -> dict[str, object]:
    if not job.on_fargate:
        return {}  # the cluster's default capacity provider strategy
    subnets = [s for s in root.get(Root.Outputs.InternalSubnets.name, "").split(",") if s]
    group = root.get(Root.Outputs.EcsClusterSecurityGroupId.name, "")
    return {"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
        "subnets": subnets, "securityGroups": [group] if group else [], "assignPublicIp": "DISABLED"}}}


def follow(target: AwsTarget, run: RunResult, request: RunRequest, waiting: Callable[[str], None],
           clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> RunResult:
    """Poll the task until it is STOPPED; `waiting` hears each new status. Past wait_seconds: a DeployError (the task keeps running)."""
    ecs = target.client("ecs")

    def look() -> tuple[RunResult | None, str]:
        found = ecs.describe_tasks(cluster=run.cluster, tasks=[run.task_arn]).get("tasks", [])
        if not found:
            raise DeployError(f"ECS no longer knows task {run.task_id} of job {run.job} (stopped tasks are kept about an hour)")
        status = str(found[0].get("lastStatus", "?"))
        return (ended(run, found[0]) if status == "STOPPED" else None), status

    return poll_until(look, waiting, saying=lambda status: f"waiting for task {run.task_id} of job {run.job} to stop (ECS says {status})",
                      late=lambda status: (f"task {run.task_id} of job {run.job} is still {status} after {request.wait_seconds / 60:g} minutes; "
                                           f"it keeps running (stop it with: aws ecs stop-task --cluster {run.cluster} --task {run.task_id})"),
                      wait_seconds=request.wait_seconds, poll_seconds=request.poll_seconds, clock=clock, sleep=sleep)


def ended(run: RunResult, task: dict[str, Any]) -> RunResult:
    """The run as ECS ended it: the job container's exit code (None when it never ran) and the stopped reason."""
    containers: list[dict[str, Any]] = task.get("containers") or []
    mine = next((c for c in containers if c.get("name") == run.job), None)
    code = mine.get("exitCode") if mine else None
    reason = str(task.get("stoppedReason") or (mine.get("reason") if mine else "") or "")
    return dataclasses.replace(run, last_status="STOPPED", exit_code=code if isinstance(code, int) else None, stopped_reason=reason)
