"""ecs_docker_auth_secret_arn on the stock ECS-optimized AL2023 image, which has python3 but no aws CLI.

The boot script (userdata.py) reads the secret with get_secret.py: IMDSv2 credentials and a SigV4-signed
GetSecretValue, standard library only. Here: its signature equals botocore's, the boot script is
shellcheck-clean, and the script run under a PATH without `aws` fetches a real secret from the local AWS
with credentials from a stand-in instance metadata service.
"""

from __future__ import annotations

import datetime
import email
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stack_cfn.blueprints import get_secret
from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.userdata import AUTH_SCRIPT, GET_SECRET
from stack_cfn.model.config import StackConfig
from tests.conftest import need

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:docker-auth-AbCdEf"
CREDS = {"AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "Token": "session-token"}


def written_files(secret_arn: str = SECRET) -> dict[str, str]:
    """The cloud-config's files as an instance would write them: Fn::Sub evaluated the way CloudFormation does."""
    cfg = StackConfig(name="my-app", environment="prod", ecs_docker_auth_type="dockercfg", ecs_docker_auth_secret_arn=secret_arn)
    t = json.loads(build_cluster(cfg).to_json())
    body, _ = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    values = {"EcsDockerAuthSecretArn": secret_arn, "EcsDockerAuthType": "dockercfg"}
    body = re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: values.get(m.group(1), m.group(0)), body)
    cloud = yaml.safe_load(email.message_from_string(body).get_payload()[0].get_payload())
    return {f["path"]: f["content"] for f in cloud["write_files"]}


def test_the_signature_is_botocores() -> None:
    """Signature Version 4 (IAM user guide, "Create a signed AWS API request"), checked against botocore's signer."""
    url, body = "https://secretsmanager.us-east-1.amazonaws.com/", json.dumps({"SecretId": SECRET}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}
    ours = get_secret.sign(url, headers, body, CREDS, "us-east-1", "secretsmanager", datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC))
    request = AWSRequest("POST", url, data=body, headers={k: v for k, v in ours.items() if k not in ("Authorization", "host")})
    request.context["timestamp"] = "20261130T120000Z"
    auth = SigV4Auth(Credentials(CREDS["AccessKeyId"], CREDS["SecretAccessKey"], CREDS["Token"]), "secretsmanager", "us-east-1")
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    assert ours["Authorization"].endswith(f"Signature={expected}")
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target" in ours["Authorization"]


def test_the_user_data_carries_the_script_and_no_aws_cli() -> None:
    files = written_files()
    assert files[GET_SECRET] == (Path(get_secret.__file__)).read_text()
    boot = files[AUTH_SCRIPT]
    assert "aws " not in boot and f"python3 {GET_SECRET} '{SECRET}'" in boot


def test_the_boot_script_is_shellcheck_clean(tmp_path: Path) -> None:
    found = need("shellcheck")
    script = tmp_path / "auth.sh"
    script.write_text(written_files()[AUTH_SCRIPT])
    result = subprocess.run([found, "-s", "sh", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


class Imds(http.server.BaseHTTPRequestHandler):
    """The instance metadata service as IMDSv2 answers: a token by PUT, then the role's credentials with that token."""

    def do_PUT(self) -> None:  # noqa: N802
        self.answer("imds-token" if self.path == "/latest/api/token" and self.headers["X-aws-ec2-metadata-token-ttl-seconds"] else None)

    def do_GET(self) -> None:  # noqa: N802
        if self.headers["X-aws-ec2-metadata-token"] != "imds-token":
            return self.answer(None)
        base = "/latest/meta-data/iam/security-credentials/"
        self.answer("instance-role" if self.path == base else json.dumps(CREDS) if self.path == base + "instance-role" else None)

    def answer(self, text: str | None) -> None:
        self.send_response(200 if text is not None else 401)
        self.end_headers()
        self.wfile.write((text or "").encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def imds() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Imds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.e2e
def test_the_boot_script_fetches_the_secret_without_the_aws_cli(local_aws, imds: str, tmp_path: Path) -> None:  # noqa: ANN001
    """The whole boot step, under a PATH holding only python3 (the base interpreter: no botocore), tr and a stand-in
    systemctl: the local AWS's Secrets Manager answers the signed call and ecs.config gets the auth data."""
    local, target = local_aws
    value = '{"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}}'
    arn = target.client("secretsmanager").create_secret(Name="docker-auth", SecretString=value)["ARN"]
    files = written_files(arn)
    config, fetch = tmp_path / "ecs.config", tmp_path / "get-secret"
    fetch.write_text(files[GET_SECRET])
    boot = tmp_path / "auth.sh"
    boot.write_text(files[AUTH_SCRIPT].replace(GET_SECRET, str(fetch)).replace("/etc/ecs/ecs.config", str(config)))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    (bin_dir / "tr").symlink_to(shutil.which("tr") or "/usr/bin/tr")
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\necho \"systemctl $*\" >> {bin_dir / 'calls'}\n")
    (bin_dir / "systemctl").chmod(0o755)
    assert shutil.which("aws", path=str(bin_dir)) is None
    env = {"PATH": str(bin_dir), "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds, "STACK_CFN_SECRETS_ENDPOINT": local.endpoint_url + "/"}
    result = subprocess.run(["/bin/sh", str(boot)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == f"ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA={value}\n"
    assert (bin_dir / "calls").read_text() == "systemctl try-restart ecs\n"
    assert oct(config.stat().st_mode & 0o777) == "0o600", "umask 077: the auth data is root's alone"
