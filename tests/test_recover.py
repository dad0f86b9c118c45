"""`recover` without AWS: the decision per stack state, and the ContinueUpdateRollback it sends, against a scripted
CloudFormation client (botocore's Stubber: recorded responses, requests checked against the API model)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from stack_cfn import app
from stack_cfn.app import AwsOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.ship import recover
from stack_cfn.ship.recover import Action, Blocker
from stack_cfn.usecases import recover as usecase
from tests.progress import Recorder

T0 = dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)
ROOT_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-prod/1"
NESTED_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-prod-NetworkStack-X/2"


def client() -> Any:
    return boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


def summary(logical_id: str, kind: str, status: str, physical: str = "p", reason: str = "") -> dict[str, Any]:
    r = {"LogicalResourceId": logical_id, "PhysicalResourceId": physical, "ResourceType": kind, "ResourceStatus": status,
         "LastUpdatedTimestamp": T0}
    return {**r, "ResourceStatusReason": reason} if reason else r


ROOT_RESOURCES = [summary("NetworkStack", "AWS::CloudFormation::Stack", "UPDATE_FAILED", NESTED_ID, "Embedded stack was not successfully updated"),
                  summary("ClusterStack", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", "c"),
                  summary("Topic", "AWS::SNS::Topic", "UPDATE_FAILED", "t", "Resource handler returned message: \"Access denied\"")]
NESTED_RESOURCES = [summary("Vpc", "AWS::EC2::VPC", "UPDATE_COMPLETE"),
                    summary("NatGateway", "AWS::EC2::NatGateway", "UPDATE_FAILED", "nat-1", "NAT gateway nat-0 was not found")]


@pytest.mark.parametrize("status,action", [
    ("UPDATE_ROLLBACK_FAILED", Action.CONTINUE_ROLLBACK), ("ROLLBACK_COMPLETE", Action.DELETE), ("UPDATE_IN_PROGRESS", Action.WAIT),
    ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", Action.WAIT), ("CREATE_COMPLETE", Action.FINE), ("UPDATE_ROLLBACK_COMPLETE", Action.FINE),
    ("REVIEW_IN_PROGRESS", Action.FINE), ("DELETE_FAILED", Action.MANUAL), ("ROLLBACK_FAILED", Action.MANUAL), (None, Action.MISSING)])
def test_each_state_has_one_action_and_one_line(status: str | None, action: Action) -> None:
    got, line = recover.decide("app-prod", status)
    assert got is action
    assert line.startswith("app-prod") and "\n" not in line
    if action is Action.WAIT:
        assert "wait" in line


def test_blockers_name_nested_resources_the_way_resources_to_skip_takes_them() -> None:
    """AWS rule (ContinueUpdateRollback API reference, ResourcesToSkip): a nested stack's resource is named
    `NestedStackName.ResourceLogicalID`; a nested stack resource itself only when its stack is being deleted, so the
    nested stack whose rollback failed is named by what failed inside it."""
    cfn = client()
    with Stubber(cfn) as stub:
        stub.add_response("list_stack_resources", {"StackResourceSummaries": ROOT_RESOURCES}, {"StackName": "app-prod"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": NESTED_RESOURCES}, {"StackName": NESTED_ID})
        found = recover.blockers(cfn, "app-prod")
        stub.assert_no_pending_responses()
    assert [b.skip_id for b in found] == ["NetworkStack.NatGateway", "Topic"]
    assert found[0].stack == "app-prod/NetworkStack" and "nat-0 was not found" in found[0].reason
    assert found[1].reason == 'Resource handler returned message: "Access denied"'


def test_continue_rollback_sends_the_skip_list_and_a_retry_safe_token() -> None:
    """AWS rule (ContinueUpdateRollback API reference): ClientRequestToken [a-zA-Z0-9][-a-zA-Z0-9]*, at most 128,
    makes a retried request the same one; the Stubber checks the request against botocore's model of the API."""
    cfn = client()
    token = recover.rollback_token()
    assert recover.TOKEN.match(token) and len(token) <= 128
    assert recover.rollback_token() != token, "a new run is a new request"
    with Stubber(cfn) as stub:
        stub.add_response("continue_update_rollback", {}, {"StackName": "app-prod", "ResourcesToSkip": ["NetworkStack.NatGateway", "Topic"],
                                                            "ClientRequestToken": token})
        recover.continue_rollback(cfn, "app-prod", ["Topic", "NetworkStack.NatGateway"], token)
        stub.assert_no_pending_responses()


def test_retained_lists_what_a_deletion_keeps_and_nothing_else() -> None:
    """AWS rule (DeletionPolicy attribute reference): Retain and RetainExceptOnCreate keep the resource, Snapshot keeps
    a snapshot; Delete (the default) removes it."""
    template = {"Resources": {"Logs": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
                              "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot"},
                              "Group": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate"},
                              "Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"}, "Queue": {"Type": "AWS::SQS::Queue"}}}
    kept = recover.retained_in(template, {"Logs": "app-logs-bucket"})
    assert [(k.logical_id, k.policy, k.physical_id) for k in kept] == [("Db", "Snapshot", ""), ("Group", "RetainExceptOnCreate", ""),
                                                                       ("Logs", "Retain", "app-logs-bucket")]
    cfn = client()
    with Stubber(cfn) as stub:
        stub.add_response("get_template", {"TemplateBody": '{"Resources": {"B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}'},
                          {"StackName": "app-prod", "TemplateStage": "Original"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [summary("B", "AWS::S3::Bucket", "DELETE_SKIPPED", "b-1")]},
                          {"StackName": "app-prod"})
        assert recover.retained(cfn, "app-prod") == [recover.Kept("B", "AWS::S3::Bucket", "Retain", "b-1")]


FOUND = [Blocker("s", "NetworkStack.NatGateway", "AWS::EC2::NatGateway", "gone"), Blocker("s", "Topic", "AWS::SNS::Topic", "denied")]


def request(**kw: Any) -> usecase.RecoverRequest:
    return usecase.RecoverRequest(StackFile("missing.yaml"), AwsOptions(stack_name="app-prod", timeout=1), **kw)


def test_skips_are_those_named_all_with_yes_or_those_confirmed() -> None:
    assert usecase.chosen(request(skip=("Topic",)), FOUND) == ["Topic"]
    with pytest.raises(DeployError, match=r"--skip Nat: not a resource blocking the rollback; those are: NetworkStack.NatGateway, Topic"):
        usecase.chosen(request(skip=("Nat",)), FOUND)
    assert usecase.chosen(request(yes=True), FOUND) == ["NetworkStack.NatGateway", "Topic"]
    asked: list[str] = []
    assert usecase.chosen(request(ask=lambda q: asked.append(q) or "Topic" in q), FOUND) == ["Topic"]
    assert len(asked) == 2 and "gone" in asked[0]
    with pytest.raises(DeployError, match="--skip LOGICAL_ID .* or --yes"):
        usecase.chosen(request(), FOUND)


class Target:
    def __init__(self, cfn: Any) -> None:
        self.cfn = cfn

    def client(self, name: str) -> Any:
        assert name == "cloudformation"
        return self.cfn


def test_recover_continues_the_rollback_with_the_confirmed_skips_and_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole use case against recorded responses: list the groups, read the state, name the blockers, continue
    with the skip list and the token, follow the stack to UPDATE_ROLLBACK_COMPLETE."""
    cfn = client()
    monkeypatch.setattr(app, "target_for", lambda *a: Target(cfn))
    stack = {"StackName": "app-prod", "StackId": ROOT_ID, "CreationTime": T0}
    event = {"StackId": ROOT_ID, "EventId": "e1", "StackName": "app-prod", "Timestamp": T0}
    done = {**event, "EventId": "e2", "Timestamp": T0 + dt.timedelta(seconds=5), "LogicalResourceId": "app-prod",
            "ResourceStatus": "UPDATE_ROLLBACK_COMPLETE"}
    with Stubber(cfn) as stub:
        stub.add_response("list_stacks", {"StackSummaries": []}, {"StackStatusFilter": ANY})
        stub.add_response("describe_stacks", {"Stacks": [{**stack, "StackStatus": "UPDATE_ROLLBACK_FAILED"}]}, {"StackName": "app-prod"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": ROOT_RESOURCES}, {"StackName": "app-prod"})
        stub.add_response("list_stack_resources", {"StackResourceSummaries": NESTED_RESOURCES}, {"StackName": NESTED_ID})
        stub.add_response("describe_stack_events", {"StackEvents": [event]}, {"StackName": "app-prod"})
        stub.add_response("continue_update_rollback", {}, {"StackName": "app-prod", "ResourcesToSkip": ["NetworkStack.NatGateway"],
                                                            "ClientRequestToken": "tok-1"})
        stub.add_response("describe_stacks", {"Stacks": [{**stack, "StackStatus": "UPDATE_ROLLBACK_COMPLETE"}]}, {"StackName": "app-prod"})
        stub.add_response("describe_stack_events", {"StackEvents": [done, event]}, {"StackName": "app-prod"})
        out = Recorder(follows=True)
        result = usecase.recover(request(skip=("NetworkStack.NatGateway",), token="tok-1"), out)
        stub.assert_no_pending_responses()
    assert result.ok and [(s.stack, s.final, s.skipped) for s in result.stacks] == [("app-prod", "UPDATE_ROLLBACK_COMPLETE", ("NetworkStack.NatGateway",))]
    assert "waiting for app-prod to reach UPDATE_ROLLBACK_COMPLETE" in out.said
    assert any("blocking: Topic" in s for s in out.said)


def test_a_healthy_stack_is_left_alone_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    cfn = client()
    monkeypatch.setattr(app, "target_for", lambda *a: Target(cfn))
    with Stubber(cfn) as stub:
        stub.add_response("list_stacks", {"StackSummaries": []}, {"StackStatusFilter": ANY})
        stub.add_response("describe_stacks", {"Stacks": [{"StackName": "app-prod", "StackStatus": "UPDATE_COMPLETE", "CreationTime": T0}]},
                          {"StackName": "app-prod"})
        out = Recorder(follows=True)
        result = usecase.recover(request(), out)
    assert result.ok and result.stacks[0].action is Action.FINE
    assert out.said == ["app-prod is UPDATE_COMPLETE: fine, nothing to recover"]
