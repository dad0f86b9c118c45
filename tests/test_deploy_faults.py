"""Deploy's talk with CloudFormation, without a server: capabilities derived from the templates, errors attributed
right once retries ran out, every write safe to repeat, runs in flight recognised, retries and timeouts bounded,
service-linked roles and scale-in protection (issue 18, items 1, 3, 10 and the fault-injection findings)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from typing import Any

import botocore.exceptions
import botocore.parsers
import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.errors import DeployError
from stack_cfn.model.loading import load_config
from stack_cfn.ship import aws, capabilities, deploy, linked_roles, runs, teardown
from stack_cfn.ship.aws_errors import is_busy


def client_error(code: str, message: str = "", status: int = 400, operation: str = "Op") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def template(*resources: dict[str, Any], transform: str = "") -> str:
    body: dict[str, Any] = {"Resources": {f"R{i}": r for i, r in enumerate(resources)}}
    if transform:
        body["Transform"] = transform
    return json.dumps(body)


# ---------------------------------------------------------------- capabilities (item 1)


@pytest.mark.parametrize("resources,expected", [
    ([{"Type": "AWS::SNS::Topic"}], ()),
    ([{"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}], ("CAPABILITY_IAM",)),
    ([{"Type": "AWS::IAM::User", "Properties": {"UserName": "ci"}}], ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")),
    ([{"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Sub": "${AWS::StackName}-r"}}}], ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")),
    ([{"Type": "AWS::IAM::InstanceProfile", "Properties": {"InstanceProfileName": "p", "Roles": []}}], ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")),
    ([{"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "x.json"}}], ("CAPABILITY_AUTO_EXPAND",)),
])
def test_capabilities_follow_awss_rule(resources: list[dict[str, Any]], expected: tuple[str, ...]) -> None:
    """CreateChangeSet API reference, Capabilities: IAM resources need CAPABILITY_IAM; IAM resources with custom names
    (UserName, RoleName, GroupName, ManagedPolicyName, InstanceProfileName) need CAPABILITY_NAMED_IAM; macros and
    nested stacks CAPABILITY_AUTO_EXPAND."""
    assert capabilities.required_capabilities({"t.json": template(*resources)}) == expected


def test_capabilities_of_a_tree_are_the_union_of_its_templates() -> None:
    files = {"root.json": template({"Type": "AWS::CloudFormation::Stack"}), "user.json": template({"Type": "AWS::IAM::User", "Properties": {"UserName": "u"}})}
    assert capabilities.of_operation(files, {"root.json": ("user.json",)}, "root.json") == (
        "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
    assert capabilities.of_operation(files, {"root.json": ()}, "root.json") == ("CAPABILITY_AUTO_EXPAND",)
    assert capabilities.cli_flag(("CAPABILITY_IAM",)) == "--capabilities CAPABILITY_IAM"


def test_named_iam_covers_iam_but_not_the_reverse() -> None:
    required = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
    assert capabilities.missing(required, ["CAPABILITY_NAMED_IAM"]) == []
    assert capabilities.missing(required, ["CAPABILITY_IAM"]) == ["CAPABILITY_NAMED_IAM"]
    assert capabilities.missing(required, []) == ["CAPABILITY_NAMED_IAM"]


def test_a_stack_with_iam_users_needs_named_iam_at_its_root(tmp_path) -> None:  # noqa: ANN001
    """Issue 18 item 1: a stack with iam_users failed at the change set because deploy passed only CAPABILITY_IAM."""
    path = tmp_path / "stack.yaml"
    path.write_text("name: caps\nenvironment: test\nkey_name: k\niam_users:\n  - {name: ci, policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n")
    compiled = compile_stack(load_config(path))
    needed = capabilities.of_operation(compiled.files, compiled.operations, compiled.root)
    named = any(p for body in compiled.files.values() for r in json.loads(body).get("Resources", {}).values()
                if r.get("Type") == "AWS::IAM::User" for p in [(r.get("Properties") or {}).get("UserName")])
    assert "CAPABILITY_IAM" in needed and "CAPABILITY_AUTO_EXPAND" in needed
    assert ("CAPABILITY_NAMED_IAM" in needed) == named, "named users need CAPABILITY_NAMED_IAM, unnamed ones do not"


# ---------------------------------------------------------------- errors attributed right


@pytest.mark.parametrize("exc,busy", [
    (client_error("Throttling", "Rate exceeded"), True),
    (client_error("SlowDown", status=503), True),
    (client_error("503", status=503), True),
    (client_error("InternalFailure", status=500), True),
    (botocore.parsers.ResponseParserError("Unable to parse response (not well-formed), invalid XML received: b'<html>'"), True),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), True),
    (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), True),
    (client_error("ValidationError", "Template format error"), False),
    (client_error("403", status=403), False),
])
def test_busy_is_throttling_5xx_and_no_answer(exc: Exception, busy: bool) -> None:
    assert is_busy(exc) is busy


class FakeS3:
    def __init__(self, head: Exception | None = None) -> None:
        self.head = head
        self.puts: list[str] = []

    def head_bucket(self, Bucket: str) -> None:  # noqa: N803
        if self.head:
            raise self.head

    def head_object(self, Bucket: str, Key: str) -> None:  # noqa: N803
        raise client_error("404", status=404)

    def put_object(self, Bucket: str, Key: str, **kwargs: object) -> None:  # noqa: N803
        self.puts.append(Key)


class FakeTarget:
    region = "us-east-1"
    endpoint_url = None

    def __init__(self, **clients: object) -> None:
        self.clients = clients

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients[service]


def test_a_busy_s3_is_not_blamed_on_the_bucket() -> None:
    """An S3 503 after retries said `--bucket: cannot use s3://... (503); pick a bucket you own` with no --bucket given."""
    from stack_cfn.blueprints.compiler import Compiled

    compiled = Compiled(files={"stack.json": "{}"})
    with pytest.raises(DeployError) as caught:
        deploy.upload(FakeTarget(s3=FakeS3(head=client_error("503", status=503))), compiled, "my-bucket")
    assert str(caught.value).startswith("AWS is busy (S3 HeadBucket") and "--bucket" not in str(caught.value)
    with pytest.raises(DeployError, match="--bucket: cannot use s3://my-bucket"):
        deploy.upload(FakeTarget(s3=FakeS3(head=client_error("403", status=403))), compiled, "my-bucket")


class HalfwayS3(FakeS3):
    """No bucket yet; the second put is throttled past its retries; deletions fail as told."""

    def __init__(self, delete_fails: bool = False) -> None:
        super().__init__(head=client_error("404", status=404))
        self.created, self.deleted, self.delete_fails = False, [], delete_fails

    def create_bucket(self, **kwargs: object) -> None:
        self.created = True

    def put_object(self, Bucket: str, Key: str, **kwargs: object) -> None:  # noqa: N803
        if self.puts:
            raise client_error("Throttling", status=400)
        super().put_object(Bucket, Key)

    def delete_object(self, Bucket: str, Key: str) -> None:  # noqa: N803
        self.deleted.append(Key)

    def delete_bucket(self, Bucket: str) -> None:  # noqa: N803
        if self.delete_fails:
            raise client_error("ServiceUnavailable", status=503)
        self.deleted.append(Bucket)


def test_an_upload_stopped_part_way_says_what_it_made_and_a_plan_removes_it() -> None:
    """The hostile-weather e2e left a plan's bucket behind: the upload failed after creating it, so the plan's clean-up
    had nothing to remove. The failure now carries what was made; what the clean-up cannot remove is said honestly."""
    from stack_cfn.blueprints.compiler import Compiled

    compiled = Compiled(files={"stack.json": "{}", "network.json": "{}"}, stacks=("stack.json",))
    s3 = HalfwayS3()
    with pytest.raises(deploy.UploadFailed) as caught:
        deploy.upload(FakeTarget(s3=s3), compiled, "plan-bucket", create_bucket=True)
    partial = caught.value.partial
    assert str(caught.value).startswith("AWS is busy (S3 upload") and partial.created_bucket and partial.uploaded == tuple(s3.puts)
    assert deploy.discard_plan(FakeTarget(s3=s3, cloudformation=None), "", None, partial, stack_existed=True) == []
    assert s3.deleted == [*s3.puts, "plan-bucket"]
    stuck = HalfwayS3(delete_fails=True)
    problems = deploy.discard_plan(FakeTarget(s3=stuck, cloudformation=None), "", None, partial, stack_existed=True)
    assert problems == ["the plan could not remove bucket s3://plan-bucket (AWS is busy); remove it when you do not use it: "
                        "aws s3 rb s3://plan-bucket --force"]


class FakeCfn:
    """A CloudFormation that answers create_change_set/execute_change_set as told; one stack `s`."""

    def __init__(self, status: str | None = "UPDATE_COMPLETE", create: Exception | None = None, execute: Exception | None = None,
                 summaries: list[dict[str, Any]] | None = None, executed: str = "AVAILABLE") -> None:
        self.status, self.create, self.execute, self.executed = status, create, execute, executed
        self.summaries = summaries or []
        self.deleted: list[str] = []
        self.requests: list[dict[str, Any]] = []

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803
        if self.status is None:
            raise client_error("ValidationError", f"Stack with id {StackName} does not exist")
        return {"Stacks": [{"StackStatus": self.status, "Tags": []}]}

    def list_change_sets(self, StackName: str, **kwargs: object) -> dict:  # noqa: N803
        return {"Summaries": [s for s in self.summaries if s["ChangeSetId"] not in self.deleted]}

    def create_change_set(self, **request: object) -> dict:
        self.requests.append(request)
        if self.create:
            raise self.create
        return {"Id": "arn:cs/new"}

    def describe_change_set(self, ChangeSetName: str, **kwargs: object) -> dict:  # noqa: N803
        return {"Status": "CREATE_COMPLETE", "ExecutionStatus": self.executed, "Changes": [], "Description": ""}

    def delete_change_set(self, ChangeSetName: str) -> None:  # noqa: N803
        self.deleted.append(ChangeSetName)

    def describe_stack_events(self, StackName: str) -> dict:  # noqa: N803
        return {"StackEvents": []}

    def execute_change_set(self, **kwargs: object) -> None:
        if self.execute:
            raise self.execute


def test_change_sets_are_uniquely_named_with_a_client_token_and_the_derived_capabilities() -> None:
    cfn = FakeCfn()
    cs = deploy.create_change_set(FakeTarget(cloudformation=cfn), "s", "https://b/k", {}, ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"))
    request = cfn.requests[0]
    assert request["ClientToken"] == request["ChangeSetName"] == cs.name and cs.name.startswith(runs.PREFIX)
    assert request["Capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    assert runs.new_name() != runs.new_name(), "two runs in one second get two names"
    assert len(runs.new_name()) <= 128 and runs.new_name().replace("-", "").isalnum()


@pytest.mark.parametrize("error,expected", [
    (client_error("Throttling", "Rate exceeded"), "AWS is busy (CreateChangeSet: Throttling"),
    (client_error("ValidationError", "Template format error: bad"), "CloudFormation refused the change set of s: Template format error: bad"),
    (client_error("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]"), "wants more capabilities"),
])
def test_change_set_errors_say_what_happened(error: Exception, expected: str) -> None:
    """A throttled CreateChangeSet was reported as "CloudFormation rejected the change set: Rate exceeded"."""
    with pytest.raises(DeployError) as caught:
        deploy.create_change_set(FakeTarget(cloudformation=FakeCfn(create=error)), "s", "https://b/k", {}, ())
    assert expected in str(caught.value)
    if "busy" in expected:
        assert "may be left on s; the next deploy or plan removes it" in str(caught.value)


def test_a_change_set_that_already_exists_from_our_lost_answer_is_ours() -> None:
    """The answer to CreateChangeSet was lost, the retry met our own change set: it is used, not an error."""
    class Lost(FakeCfn):
        def list_change_sets(self, StackName: str, **kwargs: object) -> dict:  # noqa: N803
            return {"Summaries": [{"ChangeSetName": r["ChangeSetName"], "ChangeSetId": "arn:cs/ours", "ExecutionStatus": "AVAILABLE",
                                   "Status": "CREATE_COMPLETE", "Description": runs.description()} for r in self.requests]}

    cfn = Lost(create=client_error("AlreadyExistsException", "ChangeSet [x] already exists"))
    cs = deploy.create_change_set(FakeTarget(cloudformation=cfn), "s", "https://b/k", {}, ())
    assert cs.arn == "arn:cs/ours"


def test_a_throttled_execute_says_the_change_set_is_left_unexecuted() -> None:
    cs = deploy.ChangeSet(arn="arn:cs/1", stack_name="s", kind="UPDATE", name="stack-cfn-1")
    with pytest.raises(DeployError) as caught:
        deploy.start(FakeTarget(cloudformation=FakeCfn(execute=client_error("Throttling", "Rate exceeded"))), cs)
    assert "AWS is busy (ExecuteChangeSet" in str(caught.value) and "stack-cfn-1 of s was not executed (left pending)" in str(caught.value)


def test_an_execute_whose_answer_was_lost_is_not_an_error() -> None:
    """The retry of ExecuteChangeSet meets the change set executing (InvalidChangeSetStatus): ours, go on following."""
    cs = deploy.ChangeSet(arn="arn:cs/1", stack_name="s", kind="UPDATE", name="stack-cfn-1")
    cfn = FakeCfn(execute=client_error("InvalidChangeSetStatus", "cannot be executed in its current status"), executed="EXECUTE_IN_PROGRESS")
    deploy.start(FakeTarget(cloudformation=cfn), cs)
    with pytest.raises(botocore.exceptions.ClientError):
        deploy.start(FakeTarget(cloudformation=FakeCfn(execute=client_error("InvalidChangeSetStatus", "x"))), cs)


def test_plan_clean_up_survives_an_html_500() -> None:
    class Html500(FakeCfn):
        def delete_change_set(self, ChangeSetName: str) -> None:  # noqa: N803
            raise botocore.parsers.ResponseParserError("Unable to parse response, invalid XML received: b'<html>500</html>'")

    cs = deploy.ChangeSet(arn="arn:cs/1", stack_name="s", kind="UPDATE", name="stack-cfn-1")
    problems = deploy.discard_plan(FakeTarget(cloudformation=Html500(), s3=FakeS3()), "s", cs, None, stack_existed=True)
    assert problems == ["the plan could not remove change set stack-cfn-1 (AWS is busy); the next plan or deploy removes it"]


# ---------------------------------------------------------------- our leftovers and runs in flight


def summary(name: str, **extra: object) -> dict[str, Any]:
    return {"ChangeSetName": name, "ChangeSetId": f"arn:{name}", "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE", **extra}


def test_leftovers_of_ours_are_removed_and_others_kept() -> None:
    dead = f"{runs.RUN_TAG} {socket.gethostname()} 999999999"
    cfn = FakeCfn(summaries=[summary("stack-cfn-20260101000000-aaaa", Description=dead), summary("someone-elses")])
    said = list(runs.settle(cfn, "s"))
    assert cfn.deleted == ["arn:stack-cfn-20260101000000-aaaa"] and len(said) == 1 and "left pending on s by an earlier run" in said[0]


def test_an_interrupted_first_deploy_leaves_a_shell_the_rerun_removes() -> None:
    class Shell(FakeCfn):
        def delete_stack(self, StackName: str) -> None:  # noqa: N803
            self.status = None

    cfn = Shell(status="REVIEW_IN_PROGRESS", summaries=[summary("stack-cfn-20260101000000-aaaa", Description="")])
    said = list(runs.settle(cfn, "s"))
    assert cfn.status is None and "removed the empty stack s (REVIEW_IN_PROGRESS)" in said[-1]


@pytest.mark.parametrize("extra,flying", [
    ({"Status": "CREATE_IN_PROGRESS"}, True),
    ({"ExecutionStatus": "EXECUTE_IN_PROGRESS"}, True),
    ({"Description": f"{runs.RUN_TAG} {socket.gethostname()} {os.getppid()}"}, True),  # a live process on this host
    ({"Description": f"{runs.RUN_TAG} {socket.gethostname()} 999999999"}, False),
    ({"Description": f"{runs.RUN_TAG} elsewhere 12", "CreationTime": dt.datetime.now(dt.UTC)}, True),
    ({"Description": f"{runs.RUN_TAG} elsewhere 12", "CreationTime": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}, False),
    ({"ExecutionStatus": "EXECUTE_COMPLETE"}, False),
])
def test_a_run_in_flight_is_recognised(extra: dict[str, Any], flying: bool) -> None:
    assert runs.in_flight(summary("stack-cfn-x", **extra)) is flying


def test_a_second_deploy_while_one_is_in_flight_is_refused_in_one_line() -> None:
    cfn = FakeCfn(summaries=[summary("stack-cfn-20260101000000-aaaa", Status="CREATE_IN_PROGRESS", Description=f"{runs.RUN_TAG} ci-runner 77")])
    with pytest.raises(DeployError, match=r"another stack-cfn run \(ci-runner 77\) is working on stack s") as caught:
        deploy.create_change_set(FakeTarget(cloudformation=cfn), "s", "https://b/k", {}, ())
    assert "\n" not in str(caught.value) and not cfn.requests


class Racing(FakeCfn):
    """Our change set `mine`, made at `made`; the listing shows only the rival (it lags behind CreateChangeSet)."""

    def __init__(self, made: dt.datetime, rival: dict[str, Any]) -> None:
        super().__init__(summaries=[rival])
        self.made = made

    def describe_change_set(self, ChangeSetName: str, **kwargs: object) -> dict:  # noqa: N803
        return {**super().describe_change_set(ChangeSetName), "CreationTime": self.made}


@pytest.mark.parametrize("mine_first", [True, False])
def test_of_two_runs_racing_exactly_the_earlier_change_set_goes_on(mine_first: bool) -> None:
    """Issue 18: both runs judge one order; a run whose own change set the listing does not show yet still knows its time."""
    now = dt.datetime.now(dt.UTC)
    alive = f"{runs.RUN_TAG} {socket.gethostname()} {os.getppid()}"
    rival = summary("stack-cfn-20260101000000-bbbb", Description=alive, CreationTime=now)
    cfn = Racing(now + dt.timedelta(seconds=-1 if mine_first else 1), rival)
    if mine_first:
        runs.refuse_if_raced(cfn, "s", "stack-cfn-20260101000000-aaaa", "arn:mine")
        assert cfn.deleted == []
        return
    with pytest.raises(DeployError, match=r"another stack-cfn run .* \(change set stack-cfn-20260101000000-bbbb, AVAILABLE\)"):
        runs.refuse_if_raced(cfn, "s", "stack-cfn-20260101000000-aaaa", "arn:mine")
    assert cfn.deleted == ["arn:mine"], "the later run withdraws its own change set, never the rival's"


# ---------------------------------------------------------------- retries and timeouts


def test_retries_and_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A silent endpoint fails the first call (sts) within ~30 s; CloudFormation gets adaptive retries and more attempts;
    AWS_MAX_ATTEMPTS and AWS_RETRY_MODE win when set."""
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    p = aws.PATIENCE
    assert p.probe_attempts * (max(p.connect, p.probe_read) + 2) <= 30  # + backoff between tries
    cfn, sts = aws.client_config("cloudformation"), aws.client_config("sts")
    assert cfn.retries == {"max_attempts": p.cloudformation_attempts, "mode": "adaptive"} and p.cloudformation_attempts > 3
    assert sts.retries["max_attempts"] == p.probe_attempts and sts.read_timeout == p.probe_read and sts.connect_timeout == p.connect
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "17")
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    assert aws.client_config("s3").retries == {"max_attempts": 17, "mode": "legacy"}


# ---------------------------------------------------------------- service-linked roles (item 3) and deletion (item 10)


class FakeIam:
    def __init__(self, exists: bool = False, create: Exception | None = None) -> None:
        self.exists, self.create, self.created = exists, create, []

    def get_role(self, RoleName: str) -> dict:  # noqa: N803
        if not self.exists:
            raise client_error("NoSuchEntity", "not found", 404)
        return {}

    def create_service_linked_role(self, AWSServiceName: str) -> dict:  # noqa: N803
        if self.create:
            raise self.create
        self.created.append(AWSServiceName)
        return {}


ECS_TEMPLATE = template({"Type": "AWS::ECS::Cluster"})


def test_the_ecs_service_linked_role_is_made_when_missing_and_named() -> None:
    """cloudformation-coverage-roadmap#818, terraform-aws-ecs#26: a new account has no AWSServiceRoleForECS, and the
    first cluster or capacity provider fails with "Unable to assume the service linked role"."""
    iam = FakeIam()
    said = list(linked_roles.ensure(FakeTarget(iam=iam), [ECS_TEMPLATE]))
    assert iam.created == ["ecs.amazonaws.com"] and "created the service-linked role AWSServiceRoleForECS" in said[0]


@pytest.mark.parametrize("iam", [
    FakeIam(exists=True),
    FakeIam(create=client_error("InvalidInput", "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.")),
])
def test_an_existing_service_linked_role_is_left_alone_silently(iam: FakeIam) -> None:
    assert list(linked_roles.ensure(FakeTarget(iam=iam), [ECS_TEMPLATE])) == [] and iam.created == []


def test_no_ecs_no_role_and_access_denied_is_a_warning_naming_the_command() -> None:
    assert list(linked_roles.ensure(FakeTarget(), [template({"Type": "AWS::SNS::Topic"})])) == []
    said = list(linked_roles.ensure(FakeTarget(iam=FakeIam(create=client_error("AccessDenied", "no"))), [ECS_TEMPLATE]))
    assert said and "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com" in said[0]


class FakeAutoscaling:
    def __init__(self, instances: int, protect_new: bool = True) -> None:
        self.group = {"NewInstancesProtectedFromScaleIn": protect_new,
                      "Instances": [{"InstanceId": f"i-{n}", "ProtectedFromScaleIn": n % 3 != 0} for n in range(instances)]}
        self.calls: list[tuple[str, Any]] = []

    def describe_auto_scaling_groups(self, AutoScalingGroupNames: list[str]) -> dict:  # noqa: N803
        return {"AutoScalingGroups": [self.group]}

    def update_auto_scaling_group(self, **kwargs: object) -> None:
        self.calls.append(("update", kwargs))

    def set_instance_protection(self, **kwargs: Any) -> None:
        self.calls.append(("protect", kwargs))


def test_destroy_clears_scale_in_protection_in_batches_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """aws-cdk#18179, #14732, containers-roadmap#2862: protected instances keep the group, and so the stack's deletion,
    waiting forever. SetInstanceProtection takes at most 50 instances per call."""
    autoscaling = FakeAutoscaling(120)
    monkeypatch.setattr(teardown, "cluster_of", lambda target, stack: ("asg-1", "cluster-1"))
    monkeypatch.setattr(teardown, "_managed_protection_off", lambda target, group, cluster: iter(()))
    said = list(teardown.unblock(FakeTarget(autoscaling=autoscaling), "s"))
    batches = [kw for call, kw in autoscaling.calls if call == "protect"]
    assert all(len(b["InstanceIds"]) <= teardown.BATCH and b["ProtectedFromScaleIn"] is False for b in batches)
    assert sum(len(b["InstanceIds"]) for b in batches) == 80
    assert ("update", {"AutoScalingGroupName": "asg-1", "NewInstancesProtectedFromScaleIn": False}) in autoscaling.calls
    assert said[-1] == "cleared scale-in protection on 80 instance(s) of asg-1, so that the group can be deleted"
    quiet = FakeAutoscaling(0, protect_new=False)
    assert list(teardown.unblock(FakeTarget(autoscaling=quiet), "s")) == [] and quiet.calls == []
