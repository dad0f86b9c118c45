"""`run`: start one run of a scheduled job now, and with `follow` wait for it to stop (ship/run.py does the AWS calls)."""

from __future__ import annotations

from dataclasses import dataclass

from stack_cfn import app
from stack_cfn.app import AwsOptions, StackFile
from stack_cfn.ship.report import Progress
from stack_cfn.ship.run import RunResult


@dataclass(frozen=True)
class JobRunRequest:
    source: StackFile
    aws: AwsOptions
    job: str
    follow: bool = False  # wait (at most aws.timeout minutes) until the task stops


def run(request: JobRunRequest, out: Progress) -> RunResult:
    """The job's deployed task definition started once; followed to its stop when asked. Saying what it waits for goes to `out`."""
    from stack_cfn.ship import run as ship_run

    cfg = app.load(request.source, out)
    ship_run.job_named(cfg, request.job)  # checked before anything is sent
    target = app.target_for(request.source, request.aws, cfg, out)
    stack = app.stack_name_for(request.source, request.aws, cfg)
    wanted = ship_run.RunRequest(request.job, stack, follow=request.follow, wait_seconds=request.aws.timeout * 60)
    with out.step(f"running job {request.job} of {stack}", "a task that was started keeps running; see it with aws ecs list-tasks"):
        return ship_run.run_job(target, cfg, wanted, out.info)
