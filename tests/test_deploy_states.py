"""Every stack state deploy can meet: a clear refusal naming what to do, or the status to go on from."""

from __future__ import annotations

import pytest

from stack_cfn.errors import DeployError
from stack_cfn.ship import deploy


class FakeCfn:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803
        return {"Stacks": [{"StackStatus": self.status}]}

    def list_change_sets(self, StackName: str) -> dict:  # noqa: N803
        return {"Summaries": [{"ChangeSetName": "someones-review"}, {"ChangeSetName": "stack-cfn-1700000000"}]}


@pytest.mark.parametrize("status,advice", [("UPDATE_IN_PROGRESS", "wait for it"), ("ROLLBACK_COMPLETE", "delete it"),
                                           ("UPDATE_ROLLBACK_FAILED", "continue rollback"), ("DELETE_IN_PROGRESS", "wait for it"),
                                           ("REVIEW_IN_PROGRESS", "someones-review was never executed")])
def test_deploy_refuses_a_stack_that_cannot_take_a_change(status: str, advice: str) -> None:
    with pytest.raises(DeployError, match=advice):
        deploy.check_deployable(FakeCfn(status), "prod")
    assert deploy.check_deployable(FakeCfn("UPDATE_COMPLETE"), "prod") == "UPDATE_COMPLETE"
