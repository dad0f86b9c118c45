"""Scheduled jobs: the model's rules (EventBridge Scheduler's, Fargate's), the job template, the root's wiring,
releases of a job's image and the `run` use case's following of a task to its exit code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import lint

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.job import build_job
from stack_cfn.blueprints.job_contract import JobShape
from stack_cfn.blueprints.root import canonical_json
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.aws_facts import FARGATE_TASK_SIZES as FARGATE_SIZES
from stack_cfn.model.config import StackConfig
from stack_cfn.model.jobs import JobConfig, cron_problem, schedule_problem
from stack_cfn.model.loading import parse_config
from stack_cfn.model.releases import Release, apply_releases
from stack_cfn.ship import release
from stack_cfn.ship.run import RunRequest, RunResult, ended, follow

JOB = {"name": "report", "image": "busybox"}


def job(**settings: Any) -> JobConfig:
    return JobConfig(**{**JOB, "schedule": "rate(15 minutes)", **settings})


def template(shape: JobShape) -> dict[str, Any]:
    return json.loads(canonical_json(build_job(shape)))


# ---------------------------------------------------------------- the model


@pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(15 minutes)", "rate(2 hours)", "rate(1 day)", "cron(0 3 * * ? *)",
                                        "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 12 L * ? 2030)", "cron(30 9 ? * 6L *)", "cron(0 10 ? * 2#1 *)",
                                        "cron(0 8 15W * ? *)", "cron(0,30 * * JAN,JUL ? *)", "at(2030-01-31T09:00:00)"])
def test_eventbridge_scheduler_expressions_are_accepted(expression: str) -> None:
    """EventBridge Scheduler User Guide, "Schedule types": rate(value unit), six-field cron(...) and at(yyyy-mm-ddThh:mm:ss)."""
    assert schedule_problem(expression) is None
    assert job(schedule=expression).schedule == expression


@pytest.mark.parametrize("body,problem", [
    ("0 3 * * *", "has 5 cron fields"),
    ("0 3 * * * *", "needs ? in exactly one of day-of-month and day-of-week"),
    ("0 3 ? * ? *", "needs ? in exactly one of day-of-month and day-of-week"),
    ("0 24 * * ? *", "cron field hours: 24 is outside 0-23"),
    ("0 3 * 13 ? *", "cron field month: 13 is outside 1-12"),
    ("0 3 ? * 8 *", "cron field day-of-week: 8 is outside 1-7"),
    ("0 3 * * ? 2200", "cron field year: 2200 is outside 1970-2199"),
    ("? 3 * * ? *", "cron field minutes: ? is not allowed in minutes"),
    ("0 3 1W * ? *", None),
    ("0 3 ? * MON#6 *", "cron field day-of-week: #6 is not #1 to #5"),
    ("0/0 * * * ? *", "cron field minutes: '0/0' has no valid step"),
])
def test_cron_fields_follow_eventbridges_reference(body: str, problem: str | None) -> None:
    """EventBridge User Guide, "Cron expressions reference": each field's values and wildcards, and that day-of-month and
    day-of-week cannot both be given (one is ?)."""
    found = cron_problem(body)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem)), found


@pytest.mark.parametrize("settings,field", [
    ({"retries": 186}, "retries"), ({"retries": -1}, "retries"), ({"retry_seconds": 59}, "retry_seconds"), ({"retry_seconds": 86401}, "retry_seconds"),
    ({"flexible_window": 0}, "flexible_window"), ({"flexible_window": 1441}, "flexible_window"), ({"schedule": "rate(5 seconds)"}, "schedule"),
    ({"schedule": "cron(" + "1," * 130 + "2 * * * ? *)"}, "schedule"), ({"schedule_timezone": "Nowhere/City"}, "schedule_timezone"),
    ({"launch_type": "FARGATE"}, "launch_type"),
])
def test_scheduler_bounds_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    """Scheduler API reference: RetryPolicy MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400; FlexibleTimeWindow
    MaximumWindowInMinutes 1-1440; CreateSchedule ScheduleExpression at most 256 characters, ScheduleExpressionTimezone an IANA name."""
    with pytest.raises(ConfigError) as caught:
        job(**settings)
    assert caught.value.field == f"jobs.report.{field}"


def test_fargate_takes_only_its_task_sizes() -> None:
    """ECS developer guide, "Amazon ECS task definition parameters for Fargate": CPU and memory come in fixed pairs."""
    for cpu, memories in FARGATE_SIZES.items():
        for memory in (memories[0], memories[-1]):
            assert job(launch_type="fargate", cpu=cpu, memory=memory).on_fargate
    with pytest.raises(ConfigError, match="512 to 2048|512, 1024, 2048"):
        job(launch_type="fargate", cpu=256, memory=3072)
    assert job(cpu=300, memory=700).launch_type == "ec2", "EC2 takes any size ECS does"


def test_the_container_rules_are_the_services_under_the_jobs_path() -> None:
    with pytest.raises(ConfigError) as caught:
        job(secrets={"bad name": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"})
    assert caught.value.field.startswith("jobs.report.")
    task = job(env={"A": "1"}).task
    assert task.kind == "worker" and task.name == "report" and dict(task.env) == {"A": "1"}
    assert job(env={"API_TOKEN": "x"}).warnings == ("jobs.report.env.API_TOKEN: looks like a secret but is a literal in the task definition; "
                                                    "put it under secrets: instead",)


def test_stack_checks_jobs_against_services_and_databases() -> None:
    with pytest.raises(ConfigError, match="is also a service's name"):
        parse_config("name: a\nenvironment: b\nservices: [{name: report, image: x, kind: worker}]\n"
                     "jobs: [{name: report, image: x, schedule: rate(1 hour)}]\n")
    with pytest.raises(ConfigError, match="'main' is not a database of this stack"):
        parse_config("name: a\nenvironment: b\njobs: [{name: report, image: x, schedule: rate(1 hour), databases: [main]}]\n")


# ---------------------------------------------------------------- the template


@pytest.mark.parametrize("shape", [JobShape(job()), JobShape(job(), alarmed=True), JobShape(job(launch_type="fargate", flexible_window=10)),
                                   JobShape(job(launch_type="fargate"), alarmed=True)], ids=["ec2", "ec2-alarms", "fargate", "fargate-alarms"])
def test_job_templates_are_cfn_lint_clean(shape: JobShape) -> None:
    assert [str(m) for m in lint(canonical_json(build_job(shape)))] == []


def test_the_scheduler_may_run_exactly_this_task_and_pass_exactly_its_roles() -> None:
    """Scheduler User Guide, "Set up the execution role": ecs:RunTask on the task definition, iam:PassRole on the task's roles,
    sqs:SendMessage on the dead-letter queue; the trust names scheduler.amazonaws.com with aws:SourceAccount."""
    role = template(JobShape(job()))["Resources"]["SchedulerRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["scheduler.amazonaws.com"]} and trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["RunTheJob"]["Action"] == ["ecs:RunTask"] and statements["RunTheJob"]["Resource"] == [{"Ref": "TaskDefinition"}]
    assert "ecs:cluster" in statements["RunTheJob"]["Condition"]["ArnEquals"]
    passed = statements["PassTheTaskRoles"]
    assert passed["Resource"][0] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert passed["Resource"][1] == {"Fn::If": ["HasTaskRole", {"Ref": "TaskRoleArn"}, {"Fn::GetAtt": ["TaskRole", "Arn"]}]}
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert statements["DeadLetters"] == {"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                                         "Resource": [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]}


def test_the_schedule_retries_into_an_encrypted_standard_queue_and_is_named_by_cloudformation() -> None:
    """A standard queue ("EventBridge Scheduler does not support using a FIFO queue"), SSE-SQS; no Name (CloudFormation names it)."""
    resources = template(JobShape(job(flexible_window=20)))["Resources"]
    queue = resources["DeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and "FifoQueue" not in queue
    schedule = resources["Schedule"]["Properties"]
    assert "Name" not in schedule and "GroupName" not in schedule
    target = schedule["Target"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": {"Ref": "RetrySeconds"}, "MaximumRetryAttempts": {"Ref": "Retries"}}
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "TaskDefinition"} and target["EcsParameters"]["TaskCount"] == 1
    assert schedule["FlexibleTimeWindow"]["Fn::If"][0] == "Flexible"


def test_a_fargate_job_runs_awsvpc_in_the_internal_subnets_without_a_public_ip() -> None:
    resources = template(JobShape(job(launch_type="fargate", cpu=512, memory=1024)))["Resources"]
    task = resources["TaskDefinition"]["Properties"]
    assert (task["NetworkMode"], task["RequiresCompatibilities"], task["Cpu"], task["Memory"]) == ("awsvpc", ["FARGATE"], {"Ref": "Cpu"}, {"Ref": "Memory"})
    ecs = resources["Schedule"]["Properties"]["Target"]["EcsParameters"]
    assert ecs["LaunchType"] == "FARGATE" and ecs["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    ec2 = template(JobShape(job()))["Resources"]
    assert ec2["TaskDefinition"]["Properties"]["NetworkMode"] == "bridge"
    assert "CapacityProviderStrategy" in ec2["Schedule"]["Properties"]["Target"]["EcsParameters"]


def test_alarms_watch_the_dead_letter_queue_and_non_zero_exits() -> None:
    resources = template(JobShape(job(), alarmed=True))["Resources"]
    assert resources["StartFailedAlarm"]["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    pattern = resources["TaskFailedRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["lastStatus"] == ["STOPPED"] and pattern["detail"]["containers"] == {"exitCode": [{"anything-but": 0}]}
    assert pattern["detail"]["group"] == [{"Fn::Join": ["", ["family:", {"Ref": "Name"}]]}]
    assert resources["TaskFailedAlarm"]["Properties"]["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": "TaskFailedRule"}}]
    assert not {"StartFailedAlarm", "TaskFailedRule", "TaskFailedAlarm"} & set(template(JobShape(job()))["Resources"])


def test_the_root_nests_each_job_wired_to_the_cluster_and_its_databases() -> None:
    cfg = StackConfig(name="app", environment="prod", databases=parse_config("name: a\nenvironment: b\ndatabases: [{name: main}]\n").databases,
                      jobs=(job(databases=("main",)), job(name="sweep"), job(name="other", launch_type="fargate")))
    compiled = compile_stack(cfg)
    root = json.loads(compiled.files["stack.json"])["Resources"]
    report = root["ReportJob"]["Properties"]["Parameters"]
    assert report["ClusterArn"] == {"Fn::GetAtt": ["ClusterStack", "Outputs.ClusterArn"]}
    assert report["Database1Host"] == {"Fn::GetAtt": ["MainDatabase", "Outputs.Endpoint"]}
    assert report["ScheduleExpression"] == "rate(15 minutes)" and report["Name"] == "report"
    assert root["OtherJob"]["Properties"]["Parameters"]["Subnets"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.InternalSubnets"]}
    assert root["SweepJob"]["Properties"]["TemplateURL"] != root["ReportJob"]["Properties"]["TemplateURL"], "a database shapes the template"
    alike = compile_stack(cfg.with_changes(jobs=(job(), job(name="sweep", schedule="cron(0 1 * * ? *)"))))
    urls = {r["Properties"]["TemplateURL"] for k, r in json.loads(alike.files["stack.json"])["Resources"].items() if k.endswith("Job")}
    assert len(urls) == 1, "alike jobs share one template file"


# ---------------------------------------------------------------- releases


def test_a_jobs_image_is_released_as_a_services() -> None:
    cfg = StackConfig(name="app", environment="prod", jobs=(job(version="1.0"),))
    assert release.released_config(cfg, {"report": Release("1.1")}).jobs[0].version == "1.1"
    data, sources = apply_releases({"jobs": [{**JOB, "schedule": "rate(1 hour)", "version": "1.0"}]}, {"report": Release("1.1", over="1.0")}, "stack.yaml")
    assert data["jobs"][0]["version"] == "1.1" and sources.origins["report"].startswith("stack.releases.yaml")


# ---------------------------------------------------------------- run


class FakeEcs:
    """DescribeTasks answering the statuses given, one per call."""

    def __init__(self, *tasks: dict[str, Any]) -> None:
        self.tasks = list(tasks)
        self.calls = 0

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        self.calls += 1
        return {"tasks": [self.tasks.pop(0)] if self.tasks else []}


class FakeTarget:
    def __init__(self, ecs: FakeEcs) -> None:
        self.ecs = ecs

    def client(self, name: str) -> FakeEcs:
        assert name == "ecs"
        return self.ecs


STARTED = RunResult("report", "app-prod", "arn:aws:ecs:us-east-1:123456789012:task/app-prod/abc", "td:1", "PROVISIONING", log_group="lg")


def test_follow_waits_for_stopped_and_takes_the_job_containers_exit_code() -> None:
    ecs = FakeEcs({"lastStatus": "PENDING"}, {"lastStatus": "RUNNING"}, {"lastStatus": "RUNNING"},
                  {"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
                   "containers": [{"name": "sidecar", "exitCode": 0}, {"name": "report", "exitCode": 3}]})
    said: list[str] = []
    result = follow(FakeTarget(ecs), STARTED, RunRequest("report", "app-prod", follow=True), said.append, sleep=lambda _: None)  # type: ignore[arg-type]  # a fake target
    assert (result.exit_code, result.succeeded, result.last_status) == (3, False, "STOPPED")
    assert said == ["waiting for task abc of job report to stop (ECS says PENDING)", "waiting for task abc of job report to stop (ECS says RUNNING)"]
    assert result.log_stream == "report/report/abc"


def test_follow_gives_up_waiting_at_the_deadline_and_says_the_task_keeps_running() -> None:
    ecs = FakeEcs(*[{"lastStatus": "RUNNING"}] * 5)
    times = iter([0.0, 10.0, 20.0, 30.0])
    with pytest.raises(DeployError, match="still RUNNING after 0.25 minutes; it keeps running"):
        follow(FakeTarget(ecs), STARTED, RunRequest("report", "app-prod", follow=True, wait_seconds=15), lambda _: None,  # type: ignore[arg-type]  # a fake target
               clock=lambda: next(times), sleep=lambda _: None)


def test_a_task_that_never_ran_has_no_exit_code_but_a_reason() -> None:
    result = ended(STARTED, {"lastStatus": "STOPPED", "stoppedReason": "CannotPullContainerError", "containers": [{"name": "report"}]})
    assert result.exit_code is None and result.stopped_reason == "CannotPullContainerError" and not result.succeeded
