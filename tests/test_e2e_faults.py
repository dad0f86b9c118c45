"""A whole lifecycle through a proxy that throttles, fails, resets and loses answers (issue 18, fault injection):
deploy, plan, deploy, release, outputs, destroy. Every run of a command succeeds or says in one line what happened
and what to do; a rerun recovers; nothing is left behind (no change set pending, no second stack shell, no plan
upload or bucket)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from stack_cfn.ship import deploy
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import run_cli
from tests.fault_proxy import FaultProxy, Faults

pytestmark = pytest.mark.e2e
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "",
           "AWS_MAX_ATTEMPTS": "", "AWS_RETRY_MODE": ""}
RERUNS = 6
BUDGET_SECONDS = 420
STACK = "faulty-test"


def write(path: Path, target, services: list[dict]) -> Path:  # noqa: ANN001
    path.write_text(yaml.safe_dump({"name": "faulty", "environment": "test", "region": "us-east-1", "cidr": "10.99.0.0/16", "bastion": False,
                                    "bastion_ami": local_ubuntu_ami(target), "services": services}))
    return path


def until_done(endpoint: str, env: dict[str, str], *args: str) -> list[str]:
    """Run a command until it succeeds; each failed run must end in one error line that is not a crash. Returns those lines."""
    said = []
    for _ in range(RERUNS):
        result = run_cli(*args, "--endpoint-url", endpoint, "--region", "us-east-1", env={**AWS_ENV, **env})
        if result.returncode == 0:
            return said
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 1 and len(errors) == 1, f"{args[0]}: exit {result.returncode}\n{result.stderr[-3000:]}"
        assert "internal error" not in errors[0] and "Traceback" not in result.stderr, errors[0]
        said.append(errors[0])
    pytest.fail(f"{args[0]} did not succeed in {RERUNS} runs: {said}")


# moderate: what botocore's retries absorb; hostile: retries cut to 4 attempts and a third of requests going wrong, so
# commands run out of retries, must say so in one line, and a rerun must pick up what the interrupted run left.
WEATHER = {"moderate": (Faults(), {}), "hostile": (Faults(throttle=0.09, fail=0.09, reset=0.06, lose=0.09, seed=7), {"AWS_MAX_ATTEMPTS": "4"})}


@pytest.mark.parametrize("weather", WEATHER)
def test_a_lifecycle_through_throttling_5xx_resets_and_lost_answers(local_aws, tmp_path: Path, weather: str) -> None:
    local, target = local_aws
    faults, env = WEATHER[weather]
    one = [{"name": "api", "image": "nginx", "port": 80, "version": "1.0.0", "log_retention_on_delete": False}]
    two = [*one, {"name": "jobs", "kind": "worker", "image": "busybox", "log_retention_on_delete": False}]
    config = write(tmp_path / "stack.yaml", target, one)
    bigger = write(tmp_path / "bigger.yaml", target, two)
    started = time.monotonic()
    said: dict[str, list[str]] = {}
    with FaultProxy(local.endpoint_url, faults) as endpoint:
        said["deploy"] = until_done(endpoint, env, "deploy", "-c", str(config), "--bucket", "faulty-templates", "--create-bucket")
        said["plan"] = until_done(endpoint, env, "plan", "-c", str(bigger), "--bucket", "faulty-plan", "--create-bucket")
        said["deploy 2"] = until_done(endpoint, env, "deploy", "-c", str(bigger), "--bucket", "faulty-templates")
        said["release"] = until_done(endpoint, env, "release", "api=1.1.0", "-c", str(bigger), "--bucket", "faulty-templates")
        said["outputs"] = until_done(endpoint, env, "outputs", "-c", str(bigger))
        said["destroy"] = until_done(endpoint, env, "destroy", "-c", str(bigger), "--yes")
    elapsed = time.monotonic() - started
    assert sum(v for k, v in faults.seen.items() if k != "ok") >= 10, f"the proxy misbehaved too little to prove anything: {faults.seen}"
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.0f} s"
    cfn, s3 = target.client("cloudformation"), target.client("s3")
    assert deploy.stack_status(cfn, STACK) is None, "destroyed"
    live = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackName"].startswith(STACK) and s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == [], f"stacks left behind: {live}"
    pending = [c["ChangeSetName"] for c in cfn.list_change_sets(StackName=STACK)["Summaries"]
               if c.get("StackName", "").startswith(STACK) and c.get("ExecutionStatus") == "AVAILABLE"]
    assert pending == [], f"change sets left pending: {pending}"
    assert "faulty-plan" not in [b["Name"] for b in s3.list_buckets()["Buckets"]], "the plan's bucket and uploads are gone"
    print(f"faults {dict(faults.seen)}; reruns {said}; {elapsed:.0f} s")
