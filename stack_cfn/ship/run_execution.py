"""`stack-cfn run JOB` for a job with a `timeout`: start what its schedule starts, the job's state machine, so the limit applies.

Starting is Step Functions StartExecution of the state machine the job's nested stack outputs (StateMachine). Following
polls DescribeExecution until the execution ends, and finds the ECS task in the execution's history: the TaskSubmitted
event's output is ECS RunTask's answer (Step Functions developer guide, "Run Amazon ECS or Fargate tasks with Step
Functions": the .sync pattern submits the task, then waits for it to stop). The exit code is the job container's, as
for a run without a timeout (ship/run.py). An execution that ran past its TimeoutSeconds ends TIMED_OUT ("State machine
structure"); the run is then a failure with a one-line reason, whatever the task's exit code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.polling import poll_until

RUNNING = "RUNNING"
TIMED_OUT = "TIMED_OUT"


def start(target: AwsTarget, state_machine: str) -> str:
    """StartExecution of the job's state machine with empty input (the definition carries everything); its execution ARN."""
    answer = target.client("stepfunctions").start_execution(stateMachineArn=state_machine, input="{}")
    return str(answer["executionArn"])


def submitted_task(history: list[dict[str, Any]]) -> str:
    """The ECS task ARN in the TaskSubmitted event of an execution's history (RunTask's answer), or "" before it is there."""
    for event in history:
        if event.get("type") != "TaskSubmitted":
            continue
        try:
            output = json.loads(event.get("taskSubmittedEventDetails", {}).get("output") or "{}")
        except ValueError:
            return ""
        tasks = output.get("Tasks") or output.get("tasks") or []
        if tasks:
            return str(tasks[0].get("TaskArn") or tasks[0].get("taskArn") or "")
    return ""


def task_arn(target: AwsTarget, execution_arn: str) -> str:
    events = target.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=100).get("events", [])
    return submitted_task(events)


def follow_execution(target: AwsTarget, execution_arn: str, wait_seconds: float, poll_seconds: float, waiting: Callable[[str], None],
                     clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> tuple[dict[str, Any], str]:
    """Poll the execution until it is no longer RUNNING: (DescribeExecution's answer, the task ARN or ""). `waiting` hears each
    new state. Past wait_seconds: a DeployError (the execution keeps running until its own timeout)."""
    sfn = target.client("stepfunctions")
    name = execution_arn.rsplit(":", 1)[-1]
    task = ""

    def look() -> tuple[tuple[dict[str, Any], str] | None, str]:
        nonlocal task
        execution = sfn.describe_execution(executionArn=execution_arn)
        task = task or task_arn(target, execution_arn)
        status = str(execution.get("status", "?"))
        if status != RUNNING:
            return (execution, task), status
        return None, f"execution {name} is {status}" + (f", task {task.rsplit('/', 1)[-1]} submitted" if task else ", no task yet")

    return poll_until(look, waiting, saying=lambda now: f"waiting for the run to end ({now})",
                      late=lambda _: (f"execution {name} is still RUNNING after {wait_seconds / 60:g} minutes; it keeps running until the job's "
                                      f"timeout (stop it with: aws stepfunctions stop-execution --execution-arn {execution_arn})"),
                      wait_seconds=wait_seconds, poll_seconds=poll_seconds, clock=clock, sleep=sleep)
