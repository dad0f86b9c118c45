"""The ship loop through the real command line against the local AWS: deploy, no-op redeploy,
plan of an added service, outputs, destroy, StackSets, and the CLI's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack_cfn import cli
from stack_cfn.ship import deploy
from stack_cfn.ship.local import free_port, local_ubuntu_ami
from tests.conftest import AWS_ENV, run_cli

pytestmark = pytest.mark.e2e


def write_config(path: Path, target, **extra) -> Path:  # noqa: ANN001
    doc = {"name": "ship", "environment": "test", "key_name": "ship-key", "region": "us-east-1", "cidr": "10.90.0.0/16",
           "bastion_ami": local_ubuntu_ami(target), **extra}
    path.write_text(yaml.safe_dump(doc))
    return path


def cli_at(endpoint: str, *args: str) -> object:
    return run_cli(*args, "--endpoint-url", endpoint, "--region", "us-east-1", env=AWS_ENV)


@pytest.fixture(scope="module")
def shipped(local_aws, tmp_path_factory):  # noqa: ANN001
    local, target = local_aws
    config = write_config(tmp_path_factory.mktemp("ship") / "stack.yaml", target, services=[{"name": "api", "image": "nginx", "port": 80}])
    first = cli_at(local.endpoint_url, "deploy", "-c", str(config), "--bucket", "ship-templates", "--create-bucket")
    return local, target, config, first


def test_deploy_prints_outputs_bastion_first(shipped) -> None:  # noqa: ANN001
    _, _, _, first = shipped
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if " = " in line]
    assert lines[0].startswith("BastionIp"), first.stdout
    assert any(line.startswith("VpcId") for line in lines)
    assert "CREATE_COMPLETE" in first.stdout


def test_redeploy_unchanged_says_no_changes(shipped) -> None:  # noqa: ANN001
    local, _, config, _ = shipped
    again = cli_at(local.endpoint_url, "deploy", "-c", str(config), "--bucket", "ship-templates")
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stdout


def test_plan_of_an_added_service_adds_only_service_resources(shipped, tmp_path: Path) -> None:  # noqa: ANN001
    local, target, _, _ = shipped
    config = write_config(tmp_path / "stack.yaml", target, services=[{"name": "api", "image": "nginx", "port": 80},
                                                                     {"name": "jobs", "kind": "worker", "image": "busybox"}])
    plan = cli_at(local.endpoint_url, "plan", "-c", str(config), "--bucket", "ship-templates")
    assert plan.returncode == 0, plan.stderr
    rows = [line for line in plan.stdout.splitlines() if "AWS::" in line]
    assert len(rows) == 1 and "+" in rows[0] and "JobsService" in rows[0], plan.stdout
    assert "Plan: 1 to add, 0 to change, 0 to remove." in plan.stdout
    assert "REPLACE" not in plan.stdout, "nothing in the network or cluster is replaced"
    assert deploy.stack_status(target.client("cloudformation"), "ship-test") in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), "a plan changes nothing"


def test_plan_of_a_new_stack_leaves_nothing_behind(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    """No stack shell in REVIEW_IN_PROGRESS, no uploads, no bucket: and the next deploy is an ordinary create."""
    local, target = local_aws
    config = write_config(tmp_path / "stack.yaml", target, name="planonly", cidr="10.91.0.0/16")
    plan = cli_at(local.endpoint_url, "plan", "-c", str(config), "--bucket", "plan-only-templates", "--create-bucket")
    assert plan.returncode == 0, plan.stderr
    assert "to add, 0 to change, 0 to remove" in plan.stdout
    cfn, s3 = target.client("cloudformation"), target.client("s3")
    assert deploy.stack_status(cfn, "planonly-test") in (None, "DELETE_COMPLETE"), "the plan removed the stack shell it made"
    assert "plan-only-templates" not in [b["Name"] for b in s3.list_buckets()["Buckets"]], "and the bucket it created"
    first = cli_at(local.endpoint_url, "deploy", "-c", str(config), "--bucket", "plan-only-templates", "--create-bucket")
    assert first.returncode == 0 and "CREATE_COMPLETE" in first.stdout, first.stdout + first.stderr


def test_deploy_over_a_stack_left_in_review_in_progress(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    """Someone's change set made the stack's shell and was never executed: deploy says so at once and what to do,
    rather than waiting on a stack that will not move; after the shell is deleted, deploy creates the stack."""
    local, target = local_aws
    config = write_config(tmp_path / "stack.yaml", target, name="review", cidr="10.92.0.0/16")
    cfn = target.client("cloudformation")
    cfn.create_change_set(StackName="review-test", ChangeSetName="abandoned", ChangeSetType="CREATE",
                          TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    assert deploy.stack_status(cfn, "review-test") == "REVIEW_IN_PROGRESS"
    result = cli_at(local.endpoint_url, "deploy", "-c", str(config), "--bucket", "review-templates", "--create-bucket", "--timeout", "5")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "change set abandoned was never executed" in errors[0] and "delete-stack --stack-name review-test" in errors[0]
    cfn.delete_stack(StackName="review-test")
    result = cli_at(local.endpoint_url, "deploy", "-c", str(config), "--bucket", "review-templates", "--create-bucket", "--timeout", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert deploy.stack_status(cfn, "review-test") == "CREATE_COMPLETE"


def test_outputs_command(shipped) -> None:  # noqa: ANN001
    local, _, config, _ = shipped
    result = cli_at(local.endpoint_url, "outputs", "-c", str(config))
    assert result.returncode == 0 and result.stdout.splitlines()[0] == "stack ship-test (us-east-1)" and "BastionIp" in result.stdout


def test_destroy_keeps_the_log_bucket(shipped) -> None:  # noqa: ANN001
    local, target, config, _ = shipped
    bucket = deploy.read_outputs(target, "ship-test")["LogBucketId"]
    refused = cli_at(local.endpoint_url, "destroy", "-c", str(config))
    assert refused.returncode == 1 and "--yes" in refused.stderr, "no terminal, no --yes: nothing deleted"
    result = cli_at(local.endpoint_url, "destroy", "-c", str(config), "--yes")
    assert result.returncode == 0, result.stderr
    assert deploy.stack_status(target.client("cloudformation"), "ship-test") is None
    target.client("s3").head_bucket(Bucket=bucket)  # DeletionPolicy Retain: the logs outlive the stack


def test_stackset_over_three_regions(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    local, target = local_aws
    config = write_config(tmp_path / "stack.yaml", target, name="multi", cidr="10.40.0.0/16")
    result = cli_at(local.endpoint_url, "stackset", "-c", str(config), "--regions", "us-east-1,us-west-2,eu-west-1",
                    "--max-concurrent", "3", "--failure-tolerance", "1", "--bucket", "multi-templates", "--create-bucket")
    assert result.returncode == 0, result.stdout + result.stderr
    for region, cidr in (("us-east-1", "10.40.0.0/16"), ("us-west-2", "10.41.0.0/16"), ("eu-west-1", "10.42.0.0/16")):
        vpcs = [v["CidrBlock"] for v in target.client("ec2", region=region).describe_vpcs()["Vpcs"]]
        assert cidr in vpcs, f"{region}: {vpcs}"
        subnets = {s["CidrBlock"] for s in target.client("ec2", region=region).describe_subnets()["Subnets"]}
        assert cidr.replace(".0.0/16", ".0.0/19") in subnets
    instances = target.client("cloudformation").list_stack_instances(StackSetName="multi-test")["Summaries"]
    assert sorted(i["Region"] for i in instances) == ["eu-west-1", "us-east-1", "us-west-2"]
    assert all(i["Status"] == "CURRENT" for i in instances)


# A bad flag value (an unknown --region, an empty --regions item) is refused at the edge with exit 2: tests/test_cli_hostile.py.
BAD = {
    "endpoint that does not answer": (["outputs", "--stack-name", "x", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:{port}"], "nothing answers"),
    "two regions on one cidr": (["stackset", "--regions", "us-east-1,us-west-2", "--region-cidr", "us-west-2=10.90.0.0/16",
                                 "--region", "us-east-1", "--endpoint-url", "{endpoint}"], "both map to 10.90.0.0/16"),
    "stack that does not exist": (["outputs", "--stack-name", "never-made", "--region", "us-east-1", "--endpoint-url", "{endpoint}"], "does not exist"),
}


@pytest.mark.parametrize("argv,message", BAD.values(), ids=BAD.keys())
def test_cli_errors_are_one_line(local_aws, tmp_path: Path, argv: list[str], message: str) -> None:
    local, target = local_aws
    config = write_config(tmp_path / "stack.yaml", target)
    args = [a.format(port=free_port(), endpoint=local.endpoint_url) for a in argv]
    if args[0] in ("upload", "stackset"):
        args[1:1] = ["-c", str(config)]
    result = run_cli(*args, env=AWS_ENV)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("linting")]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr


def test_ctrl_c_while_waiting_names_the_stack_and_how_to_watch(shipped, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """In-process against the local AWS: Ctrl-C while following a deploy stops waiting, names the real stack."""
    local, target, _, _ = shipped
    config = write_config(tmp_path / "stack.yaml", target, services=[{"name": "api", "image": "nginx", "port": 80},
                                                                     {"name": "late", "kind": "worker", "image": "busybox"}])

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "follow_many", interrupted)
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value) if value else monkeypatch.delenv(key, raising=False)
    code = cli.main(["deploy", "-c", str(config), "--bucket", "ship-templates", "--endpoint-url", local.endpoint_url, "--region", "us-east-1"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 130
    assert lines == ["error: interrupted while waiting for ship-test: stopped waiting. CloudFormation keeps going with stack ship-test; "
                     "watch it with: aws cloudformation describe-stack-events --stack-name ship-test"], err
    assert "<stack>" not in err


def test_ctrl_c_before_the_change_set_is_executed_says_it_was_left_pending_and_the_rerun_removes_it(
        local_aws, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """Ctrl-C after CreateChangeSet but before ExecuteChangeSet of a first deploy: nothing keeps going in CloudFormation;
    the change set is left pending on an empty stack (REVIEW_IN_PROGRESS), the message says so, and the next deploy
    removes both and creates the stack (issue 18, fault-injection findings)."""
    local, target = local_aws
    config = write_config(tmp_path / "stack.yaml", target, name="pending", cidr="10.93.0.0/16")

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value) if value else monkeypatch.delenv(key, raising=False)
    argv = ["deploy", "-c", str(config), "--bucket", "pending-templates", "--create-bucket", "--endpoint-url", local.endpoint_url, "--region", "us-east-1"]
    with monkeypatch.context() as patch:
        patch.setattr(deploy, "start", interrupted)
        assert cli.main(argv) == 130
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "was left pending, not executed" in line and "keeps going" not in line, line
    cfn = target.client("cloudformation")
    assert deploy.stack_status(cfn, "pending-test") == "REVIEW_IN_PROGRESS"
    pending = [c["ChangeSetName"] for c in deploy.list_change_sets(cfn, "pending-test") if c.get("ExecutionStatus") == "AVAILABLE"]
    assert len(pending) == 1 and pending[0] in line
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert f"removed change set {pending[0]}" in err and "removed the empty stack pending-test" in err, err
    assert deploy.stack_status(cfn, "pending-test") == "CREATE_COMPLETE"
    assert not [c for c in deploy.list_change_sets(cfn, "pending-test") if c.get("ExecutionStatus") == "AVAILABLE"]
    shells = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "pending-test" and s["StackStatus"] != "DELETE_COMPLETE"]
    assert len(shells) == 1, "one stack of that name, not a second shell"


def _keep_running(port: int, **popen: object) -> tuple[object, list[str]]:
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "stack_cfn.cli", "up", "--local", "--keep", "--port", str(port), "-c", str(ROOT / "stack.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, **{k: v for k, v in AWS_ENV.items() if v}}, **popen)
    seen: list[str] = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:  # type: ignore[union-attr]
        seen.append(line)
        if "Ctrl-C stops it" in line or time.monotonic() > deadline:
            break
    assert any("keeps running" in line for line in seen), "".join(seen)
    return proc, seen


def test_up_local_keep_serves_until_ctrl_c(tmp_path: Path) -> None:
    """The README's main job with --keep: the endpoint answers the aws CLI until Ctrl-C, then stops.

    The child gets SIGINT back to its default: a test run started with SIGINT
    ignored (an asynchronous command of a non-interactive shell, as a CI runner
    may start `make test`) passes that on, Python then never raises
    KeyboardInterrupt, and the signal was silently lost (the flaky hang)."""
    import signal
    import socket

    from tests.conftest import run_aws

    port = free_port()
    proc, _ = _keep_running(port, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        stacks = run_aws(f"http://127.0.0.1:{port}", "us-east-1", "cloudformation", "describe-stacks", "--stack-name", "my-app-prod")
        assert stacks.returncode == 0 and "CREATE_COMPLETE" in stacks.stdout
    finally:
        proc.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
        proc.wait(timeout=60)  # type: ignore[attr-defined]
    assert proc.returncode == 0  # type: ignore[attr-defined]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "stopped after Ctrl-C"


def test_up_local_keep_with_ctrl_c_ignored_says_so_and_stops_on_sigterm() -> None:
    """Started with SIGINT ignored (nohup, `&` in a script), it says how to stop it, and SIGTERM does."""
    import signal

    port = free_port()
    proc, seen = _keep_running(port, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    rest = ""
    try:
        proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        proc.wait(timeout=60)  # type: ignore[attr-defined]
        rest = proc.stdout.read()  # type: ignore[attr-defined]  # not communicate(): it skips what the line reader already buffered
    finally:
        if proc.poll() is None:  # type: ignore[attr-defined]
            proc.kill()  # type: ignore[attr-defined]
    assert proc.returncode == 0  # type: ignore[attr-defined]
    assert "ignores Ctrl-C" in "".join(seen) + rest and "kill " in "".join(seen) + rest
