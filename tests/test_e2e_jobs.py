"""Scheduled jobs deployed to the local AWS: the task definitions read back through ECS, the schedule through
EventBridge Scheduler (a moto gap), and `stack-cfn run JOB [--follow]` starting and following a run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from stack_cfn.ship import deploy, run_execution
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import local_cli, moto_gap

pytestmark = pytest.mark.e2e
STACK = "jobs-test"


def write(path: Path, target) -> Path:  # noqa: ANN001
    doc = {"name": "jobs", "environment": "test", "region": "us-east-1", "cidr": "10.95.0.0/16", "bastion": False,
           "alarms": {"emails": ["ops@example.com"]},
           "databases": [{"name": "main"}],
           "jobs": [{"name": "report", "image": "busybox", "version": "1.36", "schedule": "cron(0 3 * * ? *)", "schedule_timezone": "Europe/Berlin",
                     "databases": ["main"], "retries": 5, "flexible_window": 15, "command": ["sh", "-c", "echo report"]},
                    {"name": "sweep", "image": "busybox", "schedule": "rate(15 minutes)", "launch_type": "fargate", "cpu": 256, "memory": 512},
                    {"name": "nightly", "image": "busybox", "schedule": "cron(0 2 * * ? *)", "launch_type": "fargate", "timeout": 30}]}
    path.write_text(yaml.safe_dump(doc))
    return path


def cli(local, *args: str):  # noqa: ANN001, ANN201
    return local_cli(local, *args)


@pytest.fixture(scope="module")
def jobs_stack(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    root = tmp_path_factory.mktemp("jobs")
    config = write(root / "stack.yaml", target)
    result = cli(local, "deploy", "-c", str(config), "--bucket", "jobs-templates", "--create-bucket")
    assert result.returncode == 0, result.stdout + result.stderr
    return local, target, config


def job_outputs(target, logical_id: str) -> dict[str, str]:  # noqa: ANN001
    cfn = target.client("cloudformation")
    return deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, STACK)[logical_id])


def task_definition(target, logical_id: str) -> dict:  # noqa: ANN001
    arn = job_outputs(target, logical_id)["TaskDefinition"]
    return target.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]


def test_an_ec2_job_is_the_services_task_definition_with_its_database(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    td = task_definition(target, "ReportJob")
    container = td["containerDefinitions"][0]
    assert td["family"] == "report" and td["networkMode"] == "bridge"
    assert container["image"] == "busybox:1.36" and container["command"] == ["sh", "-c", "echo report"]
    assert {"MAIN_HOST", "MAIN_PORT", "MAIN_NAME", "AWS_REGION"} <= {e["name"] for e in container["environment"]}
    assert {s["name"] for s in container["secrets"]} == {"MAIN_USERNAME", "MAIN_PASSWORD"}
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "report"


@moto_gap("CloudFormation task definitions drop NetworkMode, RequiresCompatibilities and Cpu (moto's TaskDefinition.create_from_cloudformation_json)")
def test_a_fargate_job_has_a_task_level_size_and_awsvpc(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    td = task_definition(target, "SweepJob")
    assert td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["FARGATE"]
    assert (td["cpu"], td["memory"]) == ("256", "512")


def test_the_dead_letter_queue_is_encrypted(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    url = job_outputs(target, "ReportJob")["DeadLetterQueue"]
    attributes = target.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true" and attributes["MessageRetentionPeriod"] == "1209600"


@moto_gap("CloudFormation cannot create AWS::Scheduler::Schedule (no CloudFormationModel in moto.scheduler): the schedule is skipped")
def test_the_schedule_reads_back_through_eventbridge_scheduler(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    name = job_outputs(target, "ReportJob").get("ScheduleName", "(none: the ScheduleName output is missing)")
    names = [s["Name"] for s in target.client("scheduler").list_schedules()["Schedules"]]
    assert name in names, f"schedule {name} not among {names}"
    full = target.client("scheduler").get_schedule(Name=name)
    assert full["ScheduleExpression"] == "cron(0 3 * * ? *)" and full["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert full["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert full["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 5
    assert full["Target"]["EcsParameters"]["TaskDefinitionArn"] == job_outputs(target, "ReportJob")["TaskDefinition"]


def test_run_follow_starts_the_fargate_job_and_exits_with_its_exit_code(jobs_stack) -> None:  # noqa: ANN001
    local, target, config = jobs_stack
    result = cli(local, "run", "sweep", "-c", str(config), "--follow")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for task" in result.stderr and "to stop" in result.stderr and "exited 0" in result.stdout + result.stderr
    ecs = target.client("ecs")
    cluster = deploy.read_outputs(target, STACK)["Cluster"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster, startedBy="stack-cfn run")["taskArns"])["tasks"]
    task = next(t for t in tasks if t["group"] == "family:sweep")
    assert task["taskDefinitionArn"] == job_outputs(target, "SweepJob")["TaskDefinition"] and task["launchType"] == "FARGATE"


def test_run_without_follow_returns_once_started(jobs_stack) -> None:  # noqa: ANN001
    local, target, config = jobs_stack
    result = cli(local, "run", "sweep", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "started task" in result.stdout and "aws logs tail" in result.stdout


def test_run_of_an_ec2_job_takes_the_clusters_capacity(jobs_stack) -> None:  # noqa: ANN001
    """moto places EC2 tasks only on registered container instances, which its Auto Scaling group's instances never become:
    register one, as an instance's ECS agent would, so that the cluster has capacity."""
    local, target, config = jobs_stack
    cluster = deploy.read_outputs(target, STACK)["Cluster"]
    ec2 = target.client("ec2")
    image = local_ubuntu_ami(target)
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large")["Instances"][0]
    document = json.dumps({"instanceId": instance["InstanceId"], "region": "us-east-1"})
    target.client("ecs").register_container_instance(cluster=cluster, instanceIdentityDocument=document)
    result = cli(local, "run", "report", "-c", str(config), "--follow")
    assert result.returncode == 0, result.stdout + result.stderr


def test_run_refuses_an_unknown_job_before_anything_is_sent(jobs_stack) -> None:  # noqa: ANN001
    local, _, config = jobs_stack
    result = cli(local, "run", "weekly", "-c", str(config))
    assert result.returncode == 1 and "weekly: is not a job of this stack; run one of: report, sweep, nightly" in result.stderr


def test_release_ships_a_jobs_image_and_records_it(jobs_stack) -> None:  # noqa: ANN001
    """`release` of a job works as a service's: a change set touching only the job's stack, recorded beside the stack file."""
    local, target, config = jobs_stack
    result = cli(local, "release", "report=1.37", "-c", str(config), "--bucket", "jobs-templates")
    assert result.returncode == 0, result.stdout + result.stderr
    assert task_definition(target, "ReportJob")["containerDefinitions"][0]["image"] == "busybox:1.37"
    recorded = yaml.safe_load((config.parent / "stack.releases.yaml").read_text())
    assert recorded == {"report": {"version": "1.37", "over": "1.36"}}


# ---------------------------------------------------------------- a job with a timeout: the state machine between schedule and ECS


def test_a_job_with_a_timeout_deploys_a_state_machine_running_its_task_definition(jobs_stack) -> None:  # noqa: ANN001
    """Step Functions developer guide: one Task state, ecs:runTask.sync, with the execution's TimeoutSeconds (30 minutes)."""
    _, target, _ = jobs_stack
    outputs = job_outputs(target, "NightlyJob")
    machine = target.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["StateMachine"])
    definition = json.loads(machine["definition"])
    assert definition["TimeoutSeconds"] == 1800 and machine["type"] == "STANDARD"
    state = definition["States"][definition["StartAt"]]
    assert state["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    parameters = state["Parameters"]
    assert parameters["TaskDefinition"] == outputs["TaskDefinition"]
    assert parameters["Cluster"].endswith(":cluster/" + deploy.read_outputs(target, STACK)["Cluster"])
    assert parameters["LaunchType"] == "FARGATE" and parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    subnets = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert len(subnets) >= 2 and all(s.startswith("subnet-") for s in subnets)
    role = target.client("iam").get_role(RoleName=machine["roleArn"].rsplit("/", 1)[-1])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["states.amazonaws.com"]}


def test_the_deployed_job_stack_alarms_on_a_timed_out_run(jobs_stack) -> None:  # noqa: ANN001
    """What CloudFormation received (GetTemplate of the job's nested stack): the AWS/States alarms on this state machine."""
    _, target, _ = jobs_stack
    cfn = target.client("cloudformation")
    body = cfn.get_template(StackName=deploy.nested_stacks(cfn, STACK)["NightlyJob"])["TemplateBody"]
    resources = (json.loads(body) if isinstance(body, str) else body)["Resources"]
    assert resources["TimedOutAlarm"]["Properties"]["MetricName"] == "ExecutionsTimedOut"
    assert resources["TimedOutAlarm"]["Properties"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "StateMachine"}}]


@moto_gap("CloudFormation cannot create AWS::CloudWatch::Alarm (no CloudFormationModel in moto.cloudwatch): the alarms are skipped")
def test_a_timed_out_run_alarms(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    machine = job_outputs(target, "NightlyJob")["StateMachine"]
    alarms = [a for page in target.client("cloudwatch").get_paginator("describe_alarms").paginate() for a in page["MetricAlarms"]]
    mine = {a["MetricName"]: a for a in alarms if {"Name": "StateMachineArn", "Value": machine} in a.get("Dimensions", [])}
    assert {"ExecutionsTimedOut", "ExecutionsFailed"} <= set(mine), f"no AWS/States alarms on {machine}"


def test_run_of_a_job_with_a_timeout_starts_its_state_machine(jobs_stack) -> None:  # noqa: ANN001
    local, target, config = jobs_stack
    result = cli(local, "run", "nightly", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "started execution arn:aws:states:" in result.stdout and "the job's timeout applies" in result.stdout
    machine = job_outputs(target, "NightlyJob")["StateMachine"]
    assert target.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]


@moto_gap("moto never runs a CloudFormation state machine: executions stay RUNNING with a canned Lambda history (its ASL interpreter, "
          "behind execute_state_machine, is another backend that does not see CloudFormation's state machines)")
def test_the_state_machine_runs_the_task(jobs_stack) -> None:  # noqa: ANN001
    _, target, _ = jobs_stack
    sfn = target.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=job_outputs(target, "NightlyJob")["StateMachine"], input="{}")["executionArn"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not run_execution.task_arn(target, execution):
        time.sleep(0.5)
    assert run_execution.task_arn(target, execution), "no TaskSubmitted event with the ECS task"
