from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack_cfn.model.config import StackConfig
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.local import LocalAws

ROOT = Path(__file__).resolve().parent.parent
# The lint cache of the tests (and of the CLI they start) lives in a directory of this run, not the user's.
os.environ.setdefault("STACK_CFN_CACHE_DIR", tempfile.mkdtemp(prefix="stack-cfn-test-cache-"))


def moto_gap(reason: str) -> pytest.MarkDecorator:
    """An assertion moto cannot make today: a strict expected failure, so the day moto makes it, the test turns red
    and the mark comes off. Only an AssertionError counts; any other error fails the test."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"moto gap (moto 5.2.5): {reason}")


@pytest.fixture
def cfg() -> StackConfig:
    return StackConfig(name="my-app", environment="prod", key_name="my-key")


@pytest.fixture(scope="session")
def local_aws() -> Iterator[tuple[LocalAws, AwsTarget]]:
    """One moto server per test process, on a free loopback port, stopped at the end."""
    local = LocalAws(region="us-east-1")
    target = local.start()
    yield local, target
    local.stop()


def aws_cli() -> str:
    """The real aws CLI installed beside this Python (awscli from PyPI)."""
    candidate = Path(sys.executable).parent / "aws"
    found = str(candidate) if candidate.exists() else shutil.which("aws")
    if not found:
        pytest.fail("the aws CLI is not installed: pip install -e '.[dev]'")
    return found


def cli_endpoint(endpoint: str) -> str:
    """The same loopback server, named localhost: moto reads the path-style
    template URLs the aws CLI builds (http://<endpoint>/<bucket>/<key>) only
    when the host is literally 'localhost' (moto 5.2.5)."""
    return endpoint.replace("127.0.0.1", "localhost")


def run_aws(endpoint: str, region: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # AWS_ENDPOINT_URL reaches every client the CLI makes (deploy/package also
    # talk to S3); --endpoint-url would reach only the named service.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": cli_endpoint(endpoint)}
    env.pop("AWS_PROFILE", None)
    return subprocess.run([aws_cli(), "--region", region, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


# Credentials of the local AWS, and no profile or endpoint of the developer's own ("" unsets it: run_cli).
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PROFILE": "", "AWS_ENDPOINT_URL": ""}


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input_: str | None = None) -> subprocess.CompletedProcess[str]:
    """The stack-cfn command line, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    for key in [k for k, v in full_env.items() if v == ""]:
        del full_env[key]  # "" means: unset it
    return subprocess.run([sys.executable, "-m", "stack_cfn.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT, env=full_env, input=input_, timeout=600)


def local_cli(local, *args: str, bucket: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    """The command line against the test session's local AWS (us-east-1), templates uploaded to `bucket` when given."""
    return run_cli(*args, "--endpoint-url", local.endpoint_url, "--region", "us-east-1", *(("--bucket", bucket) if bucket else ()), env=AWS_ENV)


def all_exports(cfn) -> dict[str, str]:  # noqa: ANN001
    """Every export, across pages."""
    # moto lists an export whose value it could not resolve (a resource it does not model) without a Value
    return {e["Name"]: e.get("Value") for page in cfn.get_paginator("list_exports").paginate() for e in page["Exports"]}


def all_stacks(cfn) -> list[dict]:  # noqa: ANN001
    """Every stack, every page: DescribeStacks pages its answer (AWS by size, moto 5.2.5 by 50), and the local AWS of a
    test session holds many more than one page."""
    return [s for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]]


def services_by_name(ecs, cluster: str) -> dict[str, dict]:  # noqa: ANN001
    """The cluster's ECS services by their stack-file name (their task family): CloudFormation names the services
    themselves (no ServiceName, so they can be replaced; issue 18)."""
    arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in page["serviceArns"]]
    described = [s for i in range(0, len(arns), 10) for s in ecs.describe_services(cluster=cluster, services=arns[i:i + 10])["services"]]
    # moto 5.2.5 updates a nested stack by making it anew and leaves the old stack's service ACTIVE: the newest
    # task definition revision of a family is the service CloudFormation now holds.
    active = sorted((s for s in described if s.get("status") == "ACTIVE"), key=lambda s: int(s["taskDefinition"].rsplit(":", 1)[1]))
    return {s["taskDefinition"].rsplit("/", 1)[1].split(":")[0]: s for s in active}


def need(tool: str) -> str:
    """A command-line tool a test runs (packer, shellcheck): CI installs it (.ci/run), so there its absence fails;
    on a developer's machine without it the test says what to install."""
    found = shutil.which(tool)
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run installs it from Debian's archive")
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")
    return found
