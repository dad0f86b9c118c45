"""Databases and IAM users deployed to the local AWS, looked up through RDS, Route53, ECS, IAM and Secrets Manager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stack_cfn.blueprints.compiler import compile_generic
from stack_cfn.ship import deploy
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import all_stacks, local_cli, moto_gap, run_cli, services_by_name

pytestmark = pytest.mark.e2e


def write(path: Path, target, **extra) -> Path:  # noqa: ANN001
    doc = {"name": "data", "environment": "test", "region": "us-east-1", "cidr": "10.94.0.0/16", "bastion_ami": local_ubuntu_ami(target),
           "databases": [{"name": "main"}],
           "iam_users": [{"name": "ci", "policies": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::artifacts/*"}]}],
           "services": [{"name": "api", "image": "nginx", "port": 80, "databases": ["main"]}], **extra}
    path.write_text(yaml.safe_dump(doc))
    return path


def cli(local, *args: str):  # noqa: ANN001, ANN201
    return local_cli(local, *args)


@pytest.fixture(scope="module")
def data_stack(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    root = tmp_path_factory.mktemp("data")
    config = write(root / "stack.yaml", target)
    assert run_cli("build", "-c", str(config), "-o", str(root / "build")).returncode == 0
    result = cli(local, "deploy", "-c", str(config), "--bucket", "data-templates", "--create-bucket")
    assert result.returncode == 0, result.stdout + result.stderr
    return local, target, root, deploy.read_outputs(target, "data-test")


def db_stack_outputs(target) -> dict[str, str]:  # noqa: ANN001
    cfn = target.client("cloudformation")
    return deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, "data-test")["MainDatabase"])


def db_instance(target, out: dict[str, str]) -> dict:  # noqa: ANN001
    """The RDS instance behind a database stack's outputs, through the RDS API."""
    return next(d for d in target.client("rds").describe_db_instances()["DBInstances"] if d["Endpoint"]["Address"] == out["Endpoint"])


def test_the_database_exists_private_encrypted_and_backed_up(data_stack) -> None:  # noqa: ANN001
    _, target, _, _ = data_stack
    out = db_stack_outputs(target)
    db = db_instance(target, out)
    assert db["Engine"] == "postgres" and db["StorageEncrypted"] is True and db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] == 5 and db["MasterUsername"] == "main"
    assert db["DBSubnetGroup"]["Subnets"], "in the DB subnet group"
    assert db["MasterUserSecret"]["SecretArn"] == out["SecretArn"], "the password lives in the secret RDS manages"
    ingress = target.client("ec2").describe_security_groups(GroupIds=[out["SecurityGroup"]])["SecurityGroups"][0]["IpPermissions"]
    assert [(r["FromPort"], r["UserIdGroupPairs"][0]["GroupId"]) for r in ingress] == [(5432, deploy.read_outputs(target, "data-test")["EcsClusterSecurityGroupId"])]


@moto_gap("CloudFormation DB instances ignore VPCSecurityGroups (moto reads a 'VpcSecurityGroupIds' property)")
def test_the_database_sits_in_its_own_security_group(data_stack) -> None:  # noqa: ANN001
    _, target, _, _ = data_stack
    out = db_stack_outputs(target)
    db = db_instance(target, out)
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [out["SecurityGroup"]]


def test_the_master_password_is_in_no_file_output_or_task_definition(data_stack) -> None:  # noqa: ANN001
    _, target, root, outputs = data_stack
    password = json.loads(target.client("secretsmanager").get_secret_value(SecretId=db_stack_outputs(target)["SecretArn"])["SecretString"])["password"]
    assert len(password) >= 8
    cfn, ecs = target.client("cloudformation"), target.client("ecs")
    assert password not in json.dumps([deploy.stack_outputs(cfn, s["StackId"]) for s in all_stacks(cfn)])
    assert not [p.name for p in (root / "build").iterdir() if password in p.read_text()]
    task = ecs.describe_task_definition(taskDefinition=services_by_name(ecs, outputs["Cluster"])["api"][
        "taskDefinition"])["taskDefinition"]
    assert password not in json.dumps(task, default=str)


def test_the_cname_resolves_in_the_private_zone(data_stack) -> None:  # noqa: ANN001
    _, target, _, outputs = data_stack
    records = target.client("route53").list_resource_record_sets(HostedZoneId=outputs["ZoneId"])["ResourceRecordSets"]
    cname = next(r for r in records if r["Name"].rstrip(".") == "main.stack.local")
    assert cname["Type"] == "CNAME" and cname["ResourceRecords"][0]["Value"] == db_stack_outputs(target)["Endpoint"]


def test_the_service_reads_the_database_through_env_and_secrets(data_stack) -> None:  # noqa: ANN001
    _, target, _, outputs = data_stack
    ecs = target.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=services_by_name(ecs, outputs["Cluster"])["api"][
        "taskDefinition"])["taskDefinition"]["containerDefinitions"][0]
    db = db_stack_outputs(target)
    env = {e["name"]: e["value"] for e in task["environment"]}
    assert (env["MAIN_HOST"], env["MAIN_PORT"], env["MAIN_NAME"]) == (db["Endpoint"], db["Port"], "main")
    assert sorted((s["name"], s["valueFrom"]) for s in task["secrets"]) == [("MAIN_PASSWORD", db["SecretArn"] + ":password::"),
                                                                           ("MAIN_USERNAME", db["SecretArn"] + ":username::")]


def user_outputs(target) -> dict[str, str]:  # noqa: ANN001
    cfn = target.client("cloudformation")
    return deploy.stack_outputs(cfn, deploy.nested_stacks(cfn, "data-test")["CiUser"])


def test_the_iam_user_and_its_access_key(data_stack) -> None:  # noqa: ANN001
    _, target, _, _ = data_stack
    user = user_outputs(target)
    iam = target.client("iam")
    name = user["UserArn"].split("/")[-1]
    assert iam.get_user(UserName=name)["User"]["Arn"] == user["UserArn"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [user["AccessKeyId"]]
    assert "SecretAccessKey" not in json.dumps(user), "outputs: the user, the key id and the secret's ARN only"


@moto_gap("CloudFormation IAM users ignore Policies")
def test_the_iam_user_has_its_policy(data_stack) -> None:  # noqa: ANN001
    _, target, _, _ = data_stack
    iam = target.client("iam")
    name = user_outputs(target)["UserArn"].split("/")[-1]
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["user"]


@moto_gap("moto's CloudFormation has no AWS::SecretsManager::Secret: the access key's secret is not stored")
def test_the_access_key_secret_is_in_secrets_manager_and_in_no_output(data_stack) -> None:  # noqa: ANN001
    _, target, root, _ = data_stack
    user = user_outputs(target)
    assert "SecretArn" in user, "the secret's ARN is an output"
    secret = json.loads(target.client("secretsmanager").get_secret_value(SecretId=user["SecretArn"])["SecretString"])
    assert secret["AccessKeyId"] == user["AccessKeyId"]
    cfn = target.client("cloudformation")
    assert secret["SecretAccessKey"] not in json.dumps([deploy.stack_outputs(cfn, s["StackId"]) for s in all_stacks(cfn)])
    assert not [p.name for p in (root / "build").iterdir() if secret["SecretAccessKey"] in p.read_text()]


def test_plan_adding_a_database_adds_only_and_removing_one_says_a_snapshot_is_kept(data_stack, tmp_path: Path) -> None:  # noqa: ANN001
    local, target, _, _ = data_stack
    more = write(tmp_path / "more.yaml", target, databases=[{"name": "main"}, {"name": "audit", "engine": "mysql"}])
    plan = cli(local, "plan", "-c", str(more), "--bucket", "data-templates")
    assert plan.returncode == 0, plan.stderr
    rows = [line for line in plan.stdout.splitlines() if "AWS::" in line]
    assert rows and all("+" in r for r in rows) and any("AuditDatabase" in r for r in rows), plan.stdout
    fewer = write(tmp_path / "fewer.yaml", target, databases=[], services=[{"name": "api", "image": "nginx", "port": 80}])
    plan = cli(local, "plan", "-c", str(fewer), "--bucket", "data-templates")
    assert plan.returncode == 0, plan.stderr
    assert "removing MainDatabase" in plan.stdout and "keeps a final snapshot" in plan.stdout


@moto_gap("moto's CloudFormation has no AWS::RDS::DBCluster (Aurora): the cluster is not created")
def test_an_aurora_cluster_from_the_drop_in_template(local_aws) -> None:  # noqa: ANN001
    _, target = local_aws
    cfn = target.client("cloudformation")
    body = compile_generic().files["rds-cluster.json"]
    out = deploy.read_outputs(target, "data-test")
    params = {"StackName": "data-test", "Name": "aurora"}
    try:
        cfn.create_stack(StackName="data-aurora", TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    except Exception as exc:  # noqa: BLE001  the gap shows as a refused stack
        raise AssertionError(f"the cluster stack was refused: {exc}") from None
    clusters = target.client("rds").describe_db_clusters()["DBClusters"]
    assert [c["Engine"] for c in clusters] == ["aurora-postgresql"] and out
