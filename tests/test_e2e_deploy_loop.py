"""The local loop that broke, with the defaults (log groups retained), and the first-deploy rules of issue 18 on the
local AWS: build -> deploy -> edit a service -> deploy -> release -> destroy -> deploy again under the same name;
iam_users through the strict capability check; the ECS service-linked role; destroy with managed scaling."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack_cfn.ship import deploy, linked_roles
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import AWS_ENV, run_cli

pytestmark = pytest.mark.e2e


def write(path: Path, target, name: str, cidr: str, **extra) -> Path:  # noqa: ANN001
    doc = {"name": name, "environment": "test", "region": "us-east-1", "cidr": cidr, "bastion_ami": local_ubuntu_ami(target), **extra}
    path.write_text(yaml.safe_dump(doc))
    return path


def run(local, *args: str, bucket: str = "loop-templates"):  # noqa: ANN001, ANN201
    extra = ["--bucket", bucket, "--create-bucket"] if args[0] in ("deploy", "plan", "release") else []
    result = run_cli(*args, "--endpoint-url", local.endpoint_url, "--region", "us-east-1", *extra, env=AWS_ENV)
    return result


def ok(result) -> str:  # noqa: ANN001
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_edit_deploy_release_destroy_and_deploy_again_with_the_defaults(local_aws, tmp_path: Path) -> None:
    """Issue 18 item 12: the whole local loop with log groups retained (the default), under one stack name."""
    local, target = local_aws
    services = [{"name": "api", "image": "nginx", "port": 80, "version": "1.0.0"}]
    config = write(tmp_path / "stack.yaml", target, "loop", "10.96.0.0/16", services=services)
    ok(run_cli("build", "-c", str(config), "-o", str(tmp_path / "build")))
    ok(run(local, "deploy", "-c", str(config)))
    write(config, target, "loop", "10.96.0.0/16", services=[{**services[0], "memory": 256, "cpu": 128}])
    ok(run(local, "deploy", "-c", str(config)))
    ok(run(local, "release", "api=1.1.0", "-c", str(config)))
    ok(run(local, "destroy", "-c", str(config), "--yes"))
    again = ok(run(local, "deploy", "-c", str(config)))
    assert "CREATE_COMPLETE" in again
    assert deploy.stack_status(target.client("cloudformation"), "loop-test") == "CREATE_COMPLETE"


def test_iam_users_deploy_through_the_strict_capability_check(local_aws, tmp_path: Path) -> None:
    """Issue 18 item 1 (proof): the local AWS refuses a named IAM resource without CAPABILITY_NAMED_IAM, as AWS does
    (CreateChangeSet API reference, Capabilities); deploy derives the capabilities from the templates and passes."""
    local, target = local_aws
    users = [{"name": "ci", "policies": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}]}]
    config = write(tmp_path / "stack.yaml", target, "users", "10.97.0.0/16", iam_users=users)
    ok(run(local, "deploy", "-c", str(config), bucket="users-templates"))
    names = [u["UserName"] for u in target.client("iam").list_users()["Users"]]
    assert names, "the user exists"
    assert all(len(n) <= 64 for n in names), names


def test_the_ecs_service_linked_role_is_ensured_idempotently(local_aws) -> None:
    """Issue 18 item 3 on the local AWS (moto's IAM has CreateServiceLinkedRole): made once, then recognised as there."""
    _, target = local_aws
    body = '{"Resources": {"C": {"Type": "AWS::ECS::Cluster"}}}'
    list(linked_roles.ensure(target, [body]))
    assert list(linked_roles.ensure(target, [body])) == [], "a second deploy says nothing: the role is there"
    roles = target.client("iam").list_roles(PathPrefix="/aws-service-role/")["Roles"]
    assert any("ecs.amazonaws.com" in r["Path"] for r in roles), roles


def test_destroy_with_managed_scaling_clears_scale_in_protection(local_aws, tmp_path: Path) -> None:
    """Issue 18 item 10: with ecs_scaling managed the group protects its instances from scale-in (managed termination
    protection), which keeps CloudFormation's deletion waiting forever in AWS (aws-cdk#18179); destroy clears it first
    and says so."""
    local, target = local_aws
    config = write(tmp_path / "stack.yaml", target, "managed", "10.98.0.0/16", ecs_scaling="managed",
                   services=[{"name": "api", "image": "nginx", "port": 80, "log_retention_on_delete": False}])
    ok(run(local, "deploy", "-c", str(config), bucket="managed-templates"))
    # The templates no longer protect instances (blueprints/cluster.py, item 10); a stack deployed before that still
    # does: protect the group and its instances as those templates did, then destroy must clear it.
    autoscaling = target.client("autoscaling")
    groups = [g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"] if g["AutoScalingGroupName"].startswith("managed-test")]
    assert groups, "the cluster's Auto Scaling group"
    for group in groups:
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group["AutoScalingGroupName"], NewInstancesProtectedFromScaleIn=True)
        ids = [i["InstanceId"] for i in group["Instances"]]
        if ids:
            autoscaling.set_instance_protection(AutoScalingGroupName=group["AutoScalingGroupName"], InstanceIds=ids, ProtectedFromScaleIn=True)
    said = ok(run(local, "destroy", "-c", str(config), "--yes"))
    assert "protecting new instances" in said or "cleared scale-in protection" in said, said
    assert deploy.stack_status(target.client("cloudformation"), "managed-test") is None


def test_two_first_deploys_of_one_stack_at_once_leave_one_stack(local_aws, tmp_path: Path) -> None:
    """Issue 18 (fault injection): two first deploys of one stack at once made one fail on exports and left a second
    stack shell. Now each run either deploys, finds nothing to change, or refuses in one line naming the other run;
    one stack of that name exists afterwards, with no change set pending."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    local, target = local_aws
    config = write(tmp_path / "stack.yaml", target, "twice", "10.94.0.0/16")
    env = {**__import__("os").environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)
    argv = [sys.executable, "-m", "stack_cfn.cli", "deploy", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1",
            "--bucket", "twice-templates", "--create-bucket"]
    runs_ = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for _ in range(2)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in runs_]
    for code, _, err in results:
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 0 or (code == 1 and len(errors) == 1 and ("another stack-cfn run" in errors[0] or "busy" in errors[0])), err[-2000:]
    assert any(code == 0 for code, _, _ in results), [err[-1500:] for _, _, err in results]
    cfn = target.client("cloudformation")
    stacks = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "twice-test" and s["StackStatus"] != "DELETE_COMPLETE"]
    assert [s["StackStatus"] for s in stacks] == ["CREATE_COMPLETE"], stacks
    assert not [c for c in deploy.list_change_sets(cfn, "twice-test") if c.get("ExecutionStatus") == "AVAILABLE"]


def test_a_destroy_rerun_after_its_answer_was_lost_finds_the_stack_already_gone(local_aws, tmp_path: Path) -> None:
    """A retried call is safe to repeat: DeleteStack went through but its answer was lost (the hostile weather of
    test_e2e_faults saw it), so the rerun meets no stack. It says the stack was already deleted and exits 0; a name
    that never had a stack is still an error."""
    local, target = local_aws
    destroy = lambda name: run_cli("destroy", "--stack-name", name, "--yes", "--endpoint-url", local.endpoint_url,  # noqa: E731
                                   "--region", "us-east-1", cwd=tmp_path, env=AWS_ENV)
    cfn = target.client("cloudformation")
    cfn.create_stack(StackName="gone-test", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    cfn.delete_stack(StackName="gone-test")
    again = destroy("gone-test")
    assert again.returncode == 0, again.stderr
    assert "stack gone-test was already deleted (" in again.stderr + again.stdout and "nothing left to destroy" in again.stderr + again.stdout
    never = destroy("never-test")
    assert never.returncode == 1 and "error: stack never-test does not exist; nothing to destroy" in never.stderr, never.stderr
