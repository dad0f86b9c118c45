"""A job's `timeout`: a Step Functions state machine between the schedule and ECS that ends a run at its limit.

ECS has no run-time limit for a task, so a job with a timeout is started by a state machine (STANDARD type: the
`.sync` pattern needs it) whose one Task state runs exactly the job's task definition with the launch settings the
schedule used before (the cluster's capacity provider on EC2; FARGATE in the internal subnets, no public IP) and
waits for it to stop. The schedule's target becomes the state machine (StartExecution).

The AWS rules it follows (each checked against the reference):
- Step Functions developer guide, "Run Amazon ECS or Fargate tasks with Step Functions": `arn:aws:states:::ecs:runTask.sync`
  runs the task and waits until it stops (Standard workflows only: "Discover service integration patterns").
- "State machine structure": the state machine's `TimeoutSeconds` ends an execution that runs longer with States.Timeout;
  its status is then TIMED_OUT, which the AWS/States metric ExecutionsTimedOut counts ("Monitoring Step Functions metrics").
  The limit is the execution's, not the Task state's: a Task-state timeout would end the run FAILED, indistinguishable
  (for an alarm) from ECS failing to place the task; here a timed-out run is TIMED_OUT and nothing else is.
- "How Step Functions generates IAM policies for integrated services": "If a task that uses the Run a Job (.sync)
  pattern is stopped, Step Functions will make a best-effort attempt to cancel the task. This requires permission to
  ... Stop ... API actions" - for ECS, ecs:StopTask; the execution timing out stops its running Task state, and so the
  ECS task. The Run a Job policy AWS documents for ECS ("Amazon ECS/AWS Fargate" IAM policy example): ecs:RunTask on
  the task definition, ecs:StopTask and ecs:DescribeTasks, and events:PutTargets, events:PutRule, events:DescribeRule on
  `arn:<partition>:events:<region>:<account>:rule/StepFunctionsGetEventsForECSTaskRule` (the managed rule Step Functions
  uses to learn that the task stopped); iam:PassRole on the task's roles (the same page: "you must add iam:PassRole
  permissions for each task execution role, task role").
- Service Authorization Reference, Amazon ECS: RunTask on resource type task-definition, StopTask and DescribeTasks on
  resource type task (`arn:<partition>:ecs:<region>:<account>:task/<cluster-name>/<task-id>`), all three with the
  ecs:cluster condition key. EventBridge: rule ARNs `arn:<partition>:events:<region>:<account>:rule/<rule-name>` (default bus).
  Step Functions: states:StartExecution on resource type stateMachine (the state machine's Ref is its ARN).
- EventBridge Scheduler User Guide, "Set up the execution role": a Step Functions StartExecution target needs
  states:StartExecution on the state machine.
- No StateMachineName: CloudFormation generates one (AWS::StepFunctions::StateMachine StateMachineName: 1-80 characters),
  so nothing of ours has a length rule to meet.
- checkov has no CloudFormation check on AWS::StepFunctions::StateMachine (CKV_AWS_284/285 are Terraform's), so no
  suppression: execution history (kept 90 days by Step Functions) and the container's log group are the record; no log
  delivery or X-Ray (they would need logs:*Delivery and xray actions on "*", AWS's documented resource for them).
"""

from __future__ import annotations

import json
import re
from typing import Any

from awacs import ecs as awacs_ecs
from awacs import events as awacs_events
from awacs import iam as awacs_iam
from awacs import states as awacs_states
from awacs.aws import Allow, ArnEquals, Condition, Policy, Statement, StringEquals
from troposphere import AWSHelperFn, GetAtt, If, Join, Partition, Ref, Select, Split, Template, iam, stepfunctions

from stack_cfn.blueprints import iam as policies
from stack_cfn.blueprints.alarms import alarm, dimensions
from stack_cfn.blueprints.contract import Declared
from stack_cfn.blueprints.job_contract import Job, JobShape
from stack_cfn.blueprints.service_contract import Service as S
from stack_cfn.blueprints.task import HAS_TASK_ROLE

RUN_STATE = "RunTheJob"
ECS_EVENTS_RULE = "rule/StepFunctionsGetEventsForECSTaskRule"  # the managed rule Step Functions' ECS .sync pattern uses


MARK = re.compile(r'"@@N(\d+)@@"|@@S(\d+)@@')  # a number's placeholder with its quotes, a string's inside its quotes


class Number:
    """A troposphere value that is a JSON number in the document (json_join writes it without quotes)."""

    def __init__(self, value: AWSHelperFn) -> None:
        self.value = value


def json_join(document: dict[str, Any]) -> Join:
    """`document` as JSON text in a Fn::Join: each troposphere value becomes a part (a string's inside its quotes, a
    Number's without them). Keys keep their order, so the output is deterministic."""
    values: list[AWSHelperFn] = []

    def marked(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: marked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [marked(v) for v in value]
        if isinstance(value, Number | AWSHelperFn):
            values.append(value.value if isinstance(value, Number) else value)
            return f"@@{'N' if isinstance(value, Number) else 'S'}{len(values) - 1}@@"
        return value

    text = json.dumps(marked(document), separators=(",", ":"))
    parts: list[Any] = []
    at = 0
    for found in MARK.finditer(text):
        parts += [text[at:found.start()], values[int(found.group(1) or found.group(2))]]
        at = found.end()
    return Join("", [part for part in [*parts, text[at:]] if part != ""])


def definition(shape: JobShape, task: Any, p: Declared, wiring: dict[str, Any]) -> Join:
    """The state machine: one Task state running the job's task definition and waiting for it to stop, within TimeoutSeconds."""
    parameters: dict[str, Any] = {"Cluster": wiring[Job.ClusterArn.name], "TaskDefinition": task.ref()}
    if shape.on_fargate:
        parameters |= {"LaunchType": "FARGATE", "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": [Join('","', wiring[Job.Subnets.name])], "SecurityGroups": [wiring[Job.TaskSecurityGroup.name]], "AssignPublicIp": "DISABLED"}}}
    else:
        parameters["CapacityProviderStrategy"] = [{"CapacityProvider": wiring[Job.CapacityProvider.name], "Weight": 1}]
    return json_join({
        "Comment": Join("", ["stack-cfn job ", p[Job.Name], ": run its task, stop it at the timeout"]),
        "TimeoutSeconds": Number(p[Job.TimeoutSeconds]), "StartAt": RUN_STATE,
        "States": {RUN_STATE: {"Type": "Task", "Resource": Join("", ["arn:", Partition, ":states:::ecs:runTask.sync"]),
                               "Parameters": parameters, "End": True}}})


def _task_arns(cluster_arn: Any) -> Join:
    """Every task of the cluster: arn:...:cluster/NAME -> arn:...:task/NAME/* (Service Authorization Reference, ECS, task)."""
    return Join("", [Select(0, Split(":cluster/", cluster_arn)), ":task/", Select(1, Split(":cluster/", cluster_arn)), "/*"])


def machine_policy(task: Any, wiring: dict[str, Any]) -> Policy:
    """AWS's documented Run a Job (.sync) policy for ECS, narrowed: RunTask on exactly this revision in this cluster; StopTask
    and DescribeTasks on this cluster's tasks; the managed events rule; PassRole on exactly the task's roles, only to ECS."""
    cluster = wiring[Job.ClusterArn.name]
    in_cluster = Condition(ArnEquals("ecs:cluster", cluster))
    task_role = If(HAS_TASK_ROLE, Ref(S.TaskRoleArn.name), GetAtt("TaskRole", "Arn"))
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="RunTheTask", Effect=Allow, Action=[awacs_ecs.RunTask], Resource=[task.ref()], Condition=in_cluster),
        Statement(Sid="FollowAndStopIt", Effect=Allow, Action=[awacs_ecs.DescribeTasks, awacs_ecs.StopTask], Resource=[_task_arns(cluster)],
                  Condition=in_cluster),
        Statement(Sid="LearnThatItStopped", Effect=Allow, Action=[awacs_events.PutTargets, awacs_events.PutRule, awacs_events.DescribeRule],
                  Resource=[policies.arn("events", ECS_EVENTS_RULE)]),
        Statement(Sid="PassTheTaskRoles", Effect=Allow, Action=[awacs_iam.PassRole], Resource=[GetAtt("ExecutionRole", "Arn"), task_role],
                  Condition=Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))),
    ])


def add_state_machine(t: Template, shape: JobShape, task: Any, p: Declared, wiring: dict[str, Any]) -> stepfunctions.StateMachine:
    """The state machine and the role it runs as (trusting states.amazonaws.com from this account only)."""
    role = t.add_resource(iam.Role("StateMachineRole", AssumeRolePolicyDocument=policies.trust("states.amazonaws.com", same_account=True),
                                   Policies=[iam.Policy(PolicyName="run-the-task", PolicyDocument=machine_policy(task, wiring))]))
    return t.add_resource(stepfunctions.StateMachine("StateMachine", StateMachineType="STANDARD", RoleArn=GetAtt(role, "Arn"),
                                                     DefinitionString=definition(shape, task, p, wiring)))


def start_execution(machine: stepfunctions.StateMachine) -> Statement:
    """The scheduler role's grant for a state machine target (Scheduler User Guide, "Set up the execution role")."""
    return Statement(Sid="StartTheRun", Effect=Allow, Action=[awacs_states.StartExecution], Resource=[machine.ref()])


def add_machine_alarms(t: Template, machine: stepfunctions.StateMachine, topic: Any) -> None:
    """With the stack's `alarms:`: a run that timed out (ExecutionsTimedOut; ECS then stops the task, whose exit code also trips
    TaskFailedAlarm) and a run Step Functions could not finish otherwise (ExecutionsFailed: ECS could not place or start the
    task, which before the state machine was a failed start in the dead-letter queue). AWS/States metrics, dimension
    StateMachineArn ("Monitoring Step Functions metrics using Amazon CloudWatch": execution metrics)."""
    for logical_id, metric, what in (("TimedOutAlarm", "ExecutionsTimedOut", "A run of the job reached its timeout and was stopped"),
                                     ("RunFailedAlarm", "ExecutionsFailed", "A run of the job failed in Step Functions (ECS could not start its task)")):
        t.add_resource(alarm(logical_id, topic, what, Namespace="AWS/States", MetricName=metric, Dimensions=dimensions(StateMachineArn=machine.ref()),
                             Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold"))
