"""A job's `timeout`: the model's bounds, the state machine between the schedule and ECS (definition, IAM, alarms), and
`run` of such a job through the state machine's execution to the task's exit code or the timeout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import lint
from troposphere import Join, Ref

from stack_cfn.blueprints.job import build_job
from stack_cfn.blueprints.job_contract import JobShape
from stack_cfn.blueprints.job_timeout import Number, json_join
from stack_cfn.blueprints.root import canonical_json
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model.jobs import TIMEOUT_MINUTES, JobConfig
from stack_cfn.ship import run as ship_run
from stack_cfn.ship import run_execution
from stack_cfn.ship.run import RunRequest, RunResult


def job(**settings: Any) -> JobConfig:
    return JobConfig(**{"name": "report", "image": "busybox", "schedule": "rate(1 hour)", **settings})


def template(shape: JobShape) -> dict[str, Any]:
    return json.loads(canonical_json(build_job(shape)))


def resolve(value: Any) -> Any:
    """A template value as text, parameters and attributes as <Name>, a list parameter as two items <Name>1, <Name>2, Fn::If as its
    else branch (enough to read the definition)."""
    if isinstance(value, dict):
        (fn, arg), = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::Join":
            parts = resolve(arg[1])
            return arg[0].join(resolve(p) for p in (parts if isinstance(parts, list) else [f"{parts}1", f"{parts}2"]))  # a list parameter: two items
        if fn == "Fn::If":
            return resolve(arg[2])
        return f"<{fn}>"
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def machine_definition(shape: JobShape) -> dict[str, Any]:
    text = resolve(template(shape)["Resources"]["StateMachine"]["Properties"]["DefinitionString"])
    return json.loads(text.replace('"TimeoutSeconds":<TimeoutSeconds>', '"TimeoutSeconds":0'))


# ---------------------------------------------------------------- the model


def test_no_timeout_by_default_and_minutes_become_seconds() -> None:
    assert job().timeout is None and job().timeout_seconds is None
    assert job(timeout=30).timeout_seconds == 1800


@pytest.mark.parametrize("minutes", [4, 0, -1, 525601, "30m"])
def test_the_timeout_is_5_minutes_to_a_year(minutes: Any) -> None:
    """Step Functions developer guide, "Quotas": a Standard execution runs at most 1 year (525600 minutes); below 5 minutes
    (ours) a run could time out while ECS still places the task and pulls the image."""
    with pytest.raises(ConfigError) as caught:
        job(timeout=minutes)
    assert caught.value.field == "jobs.report.timeout"
    assert (TIMEOUT_MINUTES.low, TIMEOUT_MINUTES.high) == (5, 365 * 24 * 60)


# ---------------------------------------------------------------- the template


def test_json_join_keeps_strings_quoted_and_numbers_bare() -> None:
    joined = json_join({"a": Ref("X"), "n": Number(Ref("T")), "l": [Join('","', Ref("L"))], "s": "plain"}).to_dict()
    assert json.loads(resolve(joined).replace("<T>", "7")) == {"a": "<X>", "n": 7, "l": ["<L>1", "<L>2"], "s": "plain"}


def test_without_a_timeout_there_is_no_state_machine() -> None:
    resources = template(JobShape(job(), alarmed=True))["Resources"]
    assert not {"StateMachine", "StateMachineRole", "TimedOutAlarm", "RunFailedAlarm"} & set(resources)
    assert "TimeoutSeconds" not in template(JobShape(job()))["Parameters"]


@pytest.mark.parametrize("shape", [JobShape(job(timeout=30)), JobShape(job(timeout=30), alarmed=True),
                                   JobShape(job(timeout=30, launch_type="fargate")), JobShape(job(timeout=30, launch_type="fargate"), alarmed=True)],
                         ids=["ec2", "ec2-alarms", "fargate", "fargate-alarms"])
def test_timed_job_templates_are_cfn_lint_clean(shape: JobShape) -> None:
    assert [str(m) for m in lint(canonical_json(build_job(shape)))] == []


def test_the_schedule_starts_the_state_machine_which_runs_the_ec2_task_within_the_timeout() -> None:
    """Step Functions developer guide: ecs:runTask.sync waits for the task to stop (Standard workflows); the state machine's
    TimeoutSeconds ends the execution TIMED_OUT. The launch settings are the schedule's before: the cluster's capacity provider."""
    t = template(JobShape(job(timeout=30)))
    resources = t["Resources"]
    machine = resources["StateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD" and "StateMachineName" not in machine
    assert machine["RoleArn"] == {"Fn::GetAtt": ["StateMachineRole", "Arn"]}
    target = resources["Schedule"]["Properties"]["Target"]
    assert target["Arn"] == {"Ref": "StateMachine"} and "EcsParameters" not in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": {"Ref": "RetrySeconds"}, "MaximumRetryAttempts": {"Ref": "Retries"}}
    definition = machine_definition(JobShape(job(timeout=30)))
    assert definition["StartAt"] == "RunTheJob" and set(definition["States"]) == {"RunTheJob"}
    state = definition["States"]["RunTheJob"]
    assert state["Type"] == "Task" and state["Resource"] == "arn:<AWS::Partition>:states:::ecs:runTask.sync" and state["End"] is True
    assert state["Parameters"] == {"Cluster": "<ClusterArn>", "TaskDefinition": "<TaskDefinition>",
                                   "CapacityProviderStrategy": [{"CapacityProvider": "<CapacityProvider>", "Weight": 1}]}
    assert t["Parameters"]["TimeoutSeconds"]["MinValue"] == 300 and t["Parameters"]["TimeoutSeconds"]["MaxValue"] == 31_536_000
    assert t["Outputs"]["StateMachine"]["Value"] == {"Ref": "StateMachine"}


def test_a_fargate_run_has_the_schedules_network_settings() -> None:
    parameters = machine_definition(JobShape(job(timeout=30, launch_type="fargate")))["States"]["RunTheJob"]["Parameters"]
    assert parameters["LaunchType"] == "FARGATE" and "CapacityProviderStrategy" not in parameters
    assert parameters["NetworkConfiguration"] == {"AwsvpcConfiguration": {"Subnets": ["<Subnets>1", "<Subnets>2"], "SecurityGroups": ["<TaskSecurityGroup>"],
                                                                          "AssignPublicIp": "DISABLED"}}


def test_the_state_machine_role_is_awss_run_a_job_policy_narrowed() -> None:
    """Step Functions developer guide, IAM policy for ECS Run a Job (.sync): ecs:RunTask on the task definition; ecs:StopTask and
    ecs:DescribeTasks; events:PutTargets/PutRule/DescribeRule on rule/StepFunctionsGetEventsForECSTaskRule; iam:PassRole on the
    task's roles. Service Authorization Reference (ECS): StopTask/DescribeTasks on task ARNs task/<cluster>/<id>, ecs:cluster key."""
    role = template(JobShape(job(timeout=30)))["Resources"]["StateMachineRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["states.amazonaws.com"]} and "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["RunTheTask"]["Action"] == ["ecs:RunTask"] and statements["RunTheTask"]["Resource"] == [{"Ref": "TaskDefinition"}]
    assert "ecs:cluster" in statements["RunTheTask"]["Condition"]["ArnEquals"]
    follow = statements["FollowAndStopIt"]
    assert follow["Action"] == ["ecs:DescribeTasks", "ecs:StopTask"] and "ecs:cluster" in follow["Condition"]["ArnEquals"]
    task_arns = resolve(follow["Resource"][0])
    assert task_arns.endswith("/*") and ":task/" in task_arns
    rule = resolve(statements["LearnThatItStopped"]["Resource"][0])
    assert rule == "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForECSTaskRule"
    assert statements["LearnThatItStopped"]["Action"] == ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    passed = statements["PassTheTaskRoles"]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}} and len(passed["Resource"]) == 2
    assert "*" not in json.dumps(role["Policies"]).replace("/*", "")


def test_the_scheduler_may_only_start_the_state_machine() -> None:
    """Scheduler User Guide, "Set up the execution role": a Step Functions target needs states:StartExecution on it."""
    role = template(JobShape(job(timeout=30)))["Resources"]["SchedulerRole"]["Properties"]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"StartTheRun", "DeadLetters"}
    assert statements["StartTheRun"]["Action"] == ["states:StartExecution"] and statements["StartTheRun"]["Resource"] == [{"Ref": "StateMachine"}]


def test_a_timed_out_run_alarms() -> None:
    """AWS/States ExecutionsTimedOut and ExecutionsFailed per StateMachineArn ("Monitoring Step Functions metrics")."""
    resources = template(JobShape(job(timeout=30), alarmed=True))["Resources"]
    for name, metric in (("TimedOutAlarm", "ExecutionsTimedOut"), ("RunFailedAlarm", "ExecutionsFailed")):
        alarm = resources[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", metric)
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "StateMachine"}}] and alarm["Threshold"] == 1
    assert {"StartFailedAlarm", "TaskFailedAlarm"} <= set(resources), "starts and exit codes still alarm"


# ---------------------------------------------------------------- run


class FakeSfn:
    def __init__(self, statuses: list[str], history: list[dict[str, Any]], **ended: str) -> None:
        self.statuses, self.history, self.ended = statuses, history, ended
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:M:run1"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803  boto3's argument name
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"status": status, **(self.ended if status != "RUNNING" else {})}

    def get_execution_history(self, executionArn: str, maxResults: int) -> dict[str, Any]:  # noqa: N803  boto3's argument names
        return {"events": self.history}


class FakeEcs:
    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        return {"tasks": [{"lastStatus": "STOPPED", "containers": [{"name": "report", "exitCode": 0}]}]}


class FakeTarget:
    def __init__(self, sfn: FakeSfn) -> None:
        self.clients = {"stepfunctions": sfn, "ecs": FakeEcs()}

    def client(self, name: str) -> Any:
        return self.clients[name]


TASK = "arn:aws:ecs:us-east-1:123456789012:task/app-prod/abc"
SUBMITTED = [{"type": "ExecutionStarted"}, {"type": "TaskSubmitted", "taskSubmittedEventDetails": {"output": json.dumps({"Tasks": [{"TaskArn": TASK}]})}}]


def test_the_task_is_found_in_the_executions_task_submitted_event() -> None:
    assert run_execution.submitted_task(SUBMITTED) == TASK
    assert run_execution.submitted_task([{"type": "ExecutionStarted"}]) == ""


def run_timed(sfn: FakeSfn) -> RunResult:
    started = RunResult("report", "app-prod", "", "td:1", "RUNNING", log_group="lg", execution_arn="")
    outputs = {"StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:M", "TaskDefinition": "td:1", "LogGroup": "lg"}
    request = RunRequest("report", "app-prod", follow=True, poll_seconds=0)
    assert started.task_arn == ""
    return ship_run._run_execution(FakeTarget(sfn), job(timeout=30), outputs, "app-prod", request, lambda _: None)  # type: ignore[arg-type]  # a fake target


def test_run_starts_the_state_machine_and_follows_to_the_tasks_exit_code() -> None:
    sfn = FakeSfn(["RUNNING", "SUCCEEDED"], SUBMITTED)
    result = run_timed(sfn)
    assert sfn.started == [{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:M", "input": "{}"}]
    assert result.succeeded and result.task_arn == TASK and result.exit_code == 0 and result.execution_arn.endswith(":run1")


def test_a_timed_out_execution_is_a_failed_run_whatever_the_exit_code() -> None:
    result = run_timed(FakeSfn(["RUNNING", "TIMED_OUT"], SUBMITTED))
    assert result.timed_out and not result.succeeded and result.task_arn == TASK and result.last_status == "TIMED_OUT"


def test_an_execution_that_never_started_a_task_says_why() -> None:
    result = run_timed(FakeSfn(["FAILED"], [{"type": "ExecutionStarted"}], error="AmazonECS.Unknown", cause="RESOURCE:MEMORY"))
    assert not result.succeeded and not result.timed_out and result.stopped_reason == "AmazonECS.Unknown RESOURCE:MEMORY"


def test_following_gives_up_at_the_deadline_and_says_how_to_stop_it() -> None:
    times = iter([0.0, 10.0, 20.0])
    with pytest.raises(DeployError, match="still RUNNING after 0.25 minutes; it keeps running until the job's timeout"):
        run_execution.follow_execution(FakeTarget(FakeSfn(["RUNNING"], [])), "arn:x:execution:M:run1", 15, 0, lambda _: None,  # type: ignore[arg-type]  # a fake target
                                       clock=lambda: next(times), sleep=lambda _: None)


@pytest.mark.parametrize("result,status,said", [
    (RunResult("report", "app-prod", TASK, "td:1", "TIMED_OUT", execution_arn="arn:aws:states:us-east-1:1:execution:M:run1", timed_out=True),
     124, "job report: timed out; Step Functions ended execution run1 and stops task abc"),
    (RunResult("report", "app-prod", TASK, "td:1", "STOPPED", exit_code=0, execution_arn="arn:aws:states:us-east-1:1:execution:M:run1"), 0,
     "job report: task abc exited 0"),
], ids=["timed-out", "succeeded"])
def test_run_follow_exits_124_on_a_timeout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], result: RunResult, status: int,
                                           said: str) -> None:
    from stack_cfn import cli
    from stack_cfn.usecases import run as job_run

    monkeypatch.setattr(job_run, "run", lambda request, out: result)
    assert cli.main(["run", "report", "--follow"]) == status
    captured = capsys.readouterr()
    assert said in captured.err + captured.out
