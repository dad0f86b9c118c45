"""Secure by default, deployed: looked up through EC2, ECS, IAM and S3 on the local AWS.

The secret values live in Secrets Manager and SSM, put there by the test; the stack file holds
only their ARNs. The marker (the secret value) must appear in no file stack-cfn writes and in no
request stack-cfn sends.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from stack_cfn import cli
from stack_cfn.ship import deploy
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import moto_gap, services_by_name

pytestmark = pytest.mark.e2e
MARKER = "S3CRET-MARKER-7f3a9c"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    data = body.read()  # type: ignore[attr-defined]
    body.seek(0)  # type: ignore[attr-defined]
    return data if isinstance(data, bytes) else str(data).encode()


@pytest.fixture(scope="module")
def secured(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    """Deploy, in process, a stack whose every secret-bearing setting points at a secret holding the marker."""
    local, target = local_aws
    sm, ssm = target.client("secretsmanager"), target.client("ssm")
    db = sm.create_secret(Name="sec-db", SecretString=json.dumps({"password": MARKER}))["ARN"]
    auth = sm.create_secret(Name="sec-docker-auth", SecretString=json.dumps({"https://index.docker.io/v1/": {"auth": MARKER}}))["ARN"]
    registry = sm.create_secret(Name="sec-registry", SecretString=json.dumps({"username": "u", "password": MARKER}))["ARN"]
    ssm.put_parameter(Name="/sec/token", Value=MARKER, Type="SecureString")
    doc = {"name": "sec", "environment": "test", "region": "us-east-1", "cidr": "10.93.0.0/16", "bastion_ami": local_ubuntu_ami(target),
           "ecs_docker_auth_type": "dockercfg", "ecs_docker_auth_secret_arn": auth,
           "services": [{"name": "api", "image": "nginx", "port": 80, "repository_credentials": registry,
                         "secrets": {"DB_PASSWORD": f"{db}:password::", "TOKEN": "/sec/token"},
                         "policies": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:us-east-1:123456789012:jobs"}]}]}
    root = tmp_path_factory.mktemp("secured")
    config = root / "stack.yaml"
    config.write_text(yaml.safe_dump(doc))
    sent: list[bytes] = []
    real_client = AwsTarget.client

    def recording_client(self: AwsTarget, service: str, region: str | None = None) -> object:
        client = real_client(self, service, region)
        client.meta.events.register("before-send", lambda request, **_: sent.append(body_bytes(request.body)))
        return client

    mp = pytest.MonkeyPatch()
    mp.setattr(AwsTarget, "client", recording_client)
    for key, value in AWS_ENV.items():
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)
    try:
        assert cli.main(["build", "-c", str(config), "-o", str(root / "build")]) == 0
        code = cli.main(["deploy", "-c", str(config), "--bucket", "sec-templates", "--create-bucket", "--endpoint-url", local.endpoint_url,
                         "--region", "us-east-1"])
    finally:
        mp.undo()
    assert code == 0
    return target, root, sent, {"db": db, "auth": auth, "registry": registry}


def test_no_secret_value_in_any_file_or_request(secured) -> None:  # noqa: ANN001
    _, root, sent, _ = secured
    files = list((root / "build").iterdir())
    assert files and not [f.name for f in files if MARKER in f.read_text()]
    assert sent, "requests were recorded"
    assert not [body[:200] for body in sent if MARKER.encode() in body], "no request stack-cfn sent carries a secret value"


def physical(cfn, stack: str, logical: str) -> str:  # noqa: ANN001
    """A resource's physical id (moto lists conditioned-off resources without most fields)."""
    return next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"] if r.get("LogicalResourceId") == logical)


def outputs(target) -> dict[str, str]:  # noqa: ANN001
    return deploy.read_outputs(target, "sec-test")


def test_launch_template_keeps_containers_from_the_metadata_service(secured) -> None:  # noqa: ANN001
    target, _, _, arns = secured
    ec2 = target.client("ec2")
    cfn = target.client("cloudformation")
    lt_id = physical(cfn, deploy.nested_stacks(cfn, "sec-test")["ClusterStack"], "LaunchTemplate")
    data = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id)["LaunchTemplateVersions"][-1]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1 and data["MetadataOptions"]["HttpTokens"] == "required"
    user_data = base64.b64decode(data["UserData"]).decode()
    assert "iptables -I DOCKER-USER 1 -i docker+ -d 169.254.169.254/32 -j DROP" in user_data
    assert "enable --now stack-cfn-block-imds.service" in user_data
    assert f"stack-cfn-get-secret '{arns['auth']}'" in user_data and MARKER not in user_data
    assert "KeyName" not in data, "no key pair by default"


def test_task_definition_carries_secrets_as_references(secured) -> None:  # noqa: ANN001
    target, _, _, arns = secured
    ecs = target.client("ecs")
    service = services_by_name(ecs, outputs(target)["Cluster"])["api"]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    c = task["containerDefinitions"][0]
    assert sorted(c["secrets"], key=lambda s: s["name"]) == [{"name": "DB_PASSWORD", "valueFrom": f"{arns['db']}:password::"},
                                                              {"name": "TOKEN", "valueFrom": "/sec/token"}]
    assert {e["name"] for e in c["environment"]} >= {"AWS_REGION", "AWS_DEFAULT_REGION"}
    assert c["repositoryCredentials"] == {"credentialsParameter": arns["registry"]}
    assert MARKER not in json.dumps(task, default=str)


def role_policies(iam, role_arn: str) -> dict[str, dict]:  # noqa: ANN001
    name = role_arn.split("/")[-1]
    docs = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"] for p in iam.list_role_policies(RoleName=name)["PolicyNames"]}
    # moto 5.2.5 returns a policy that CloudFormation put as the Python repr of its dict
    return {p: ast.literal_eval(unquote(d)) if isinstance(d, str) else d for p, d in docs.items()}


def service_role(target, logical: str) -> str:  # noqa: ANN001
    cfn = target.client("cloudformation")
    return physical(cfn, deploy.nested_stacks(cfn, "sec-test")["ApiService"], logical)


def test_execution_role_reads_exactly_the_services_secrets(secured) -> None:  # noqa: ANN001
    target, _, _, arns = secured
    iam = target.client("iam")
    statements = {s["Sid"]: s for doc in role_policies(iam, service_role(target, "ExecutionRole")).values() for s in doc["Statement"]}
    assert sorted(statements["Secrets"]["Resource"]) == sorted([arns["db"], arns["registry"]])
    assert statements["Parameters"]["Resource"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/sec/token"]
    task_role = role_policies(iam, service_role(target, "TaskRole"))
    assert [s["Action"] for doc in task_role.values() for s in doc["Statement"]] == [["sqs:SendMessage"]], "its own role, only its policies"
    trust = iam.get_role(RoleName=service_role(target, "TaskRole").split("/")[-1])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@moto_gap("task definitions made by CloudFormation lose ExecutionRoleArn and TaskRoleArn")
def test_task_definition_names_its_roles(secured) -> None:  # noqa: ANN001
    target, _, _, _ = secured
    ecs = target.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=services_by_name(ecs, outputs(target)["Cluster"])["api"][
        "taskDefinition"])["taskDefinition"]
    assert task.get("executionRoleArn", "").endswith(service_role(target, "ExecutionRole"))
    assert task.get("taskRoleArn", "").endswith(service_role(target, "TaskRole"))


def test_no_ssh_from_anywhere_and_flow_logs_on(secured) -> None:  # noqa: ANN001
    target, _, _, _ = secured
    ec2 = target.client("ec2")
    vpc = outputs(target)["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    open22 = [g["GroupName"] for g in groups for rule in g.get("IpPermissions", []) if rule.get("FromPort") == 22
              and any(r.get("CidrIp") for r in rule.get("IpRanges", []))]
    assert open22 == [], "no port 22 from an address range without ssh_cidr"
    flows = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    assert len(flows) == 1 and flows[0]["TrafficType"] == "ALL" and flows[0]["LogDestinationType"] == "s3"


def test_instance_role_has_no_broad_ssm_or_ecr(secured) -> None:  # noqa: ANN001
    target, _, _, arns = secured
    iam, cfn = target.client("iam"), target.client("cloudformation")
    role = physical(cfn, deploy.nested_stacks(cfn, "sec-test")["ClusterStack"], "InstanceRole")
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    actions = {a for doc in role_policies(iam, role).values() for s in doc["Statement"] for a in s["Action"]}
    assert not {a for a in actions if a.startswith(("ssm:GetParameter", "ecr:"))}
    auth = [s for doc in role_policies(iam, role).values() for s in doc["Statement"] if s.get("Sid") == "DockerAuthSecret"]
    assert auth and auth[0]["Resource"] == [arns["auth"], arns["auth"] + "-??????"], "as given, and matching a name-only ARN"


def test_the_example_with_https_false_and_plain_urls(tmp_path: Path) -> None:
    """The example stack's www says https: false; a copy without it is refused, naming the fix."""
    text = (Path(__file__).resolve().parent.parent / "stack.yaml").read_text().replace("    https: false\n", "")
    config = tmp_path / "stack.yaml"
    config.write_text(text)
    code = cli.main(["build", "-c", str(config), "-o", str(tmp_path / "b")])
    assert code == 1
