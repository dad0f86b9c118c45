"""Databases and IAM users in the compiled templates (the e2e module deploys them)."""

from __future__ import annotations

import json

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.database import build_database
from stack_cfn.blueprints.iam_user import build_iam_user
from stack_cfn.model.data import DatabaseConfig, DatabaseShape, IamUserConfig, IamUserShape, Serverless
from stack_cfn.model.loading import parse_config

BASE = "name: shop\nenvironment: prod\n"


def db_template(**settings: object) -> dict:
    return json.loads(build_database(DatabaseShape(DatabaseConfig(name="main", **settings), production=True)).to_json())  # type: ignore[arg-type]


def test_an_instance_keeps_its_password_out_of_everything() -> None:
    t = db_template()
    db = t["Resources"]["Database"]
    props = db["Properties"]
    assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == "Snapshot", "the seed's final snapshot"
    assert props["ManageMasterUserPassword"] is True and "MasterUserPassword" not in props
    assert props["StorageEncrypted"] is True and props["PubliclyAccessible"] is False and t["Parameters"]["StorageType"]["Default"] == "gp3"
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert t["Parameters"]["EngineVersion"]["Default"] == "16" and t["Parameters"]["BackupRetentionPeriod"]["Default"] == 5
    assert t["Parameters"]["DeletionProtection"]["Default"] == "true", "on by default for prod"
    assert t["Outputs"]["SecretArn"]["Value"] == {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
    assert "password" not in json.dumps([o["Value"] for o in t["Outputs"].values()]).lower()


def test_the_security_group_admits_the_port_from_the_cluster_and_listed_sources_only() -> None:
    t = db_template(ingress_allow_security_groups=("sg-0123456789abcdef0",), ingress_allow_cidr_blocks=("10.30.0.0/19",))
    rules = t["Resources"]["DbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert all(r["FromPort"] == {"Ref": "Port"} == r["ToPort"] and r["IpProtocol"] == "tcp" for r in rules)
    assert [r.get("SourceSecurityGroupId", r.get("CidrIp")) for r in rules][1:] == ["sg-0123456789abcdef0", "10.30.0.0/19"]
    assert rules[0]["SourceSecurityGroupId"]["Fn::If"][0] == "ImportClusterSecurityGroup"


def test_a_cname_in_the_private_zone() -> None:
    record = db_template(dns_name="pg")["Resources"]["DnsRecord"]["Properties"]
    assert record["Type"] == "CNAME" and record["ResourceRecords"] == [{"Fn::GetAtt": ["Database", "Endpoint.Address"]}]


def test_monitoring_role_only_when_monitoring_is_on() -> None:
    t = db_template(monitoring_interval=30)
    assert t["Resources"]["MonitoringRole"]["Condition"] == "MonitoringOn" and t["Parameters"]["MonitoringInterval"]["Default"] == 30


def test_an_aurora_cluster_with_instances_and_serverless() -> None:
    t = db_template(engine="aurora-postgresql", instance_count=2)
    assert t["Resources"]["Database"]["Type"] == "AWS::RDS::DBCluster"
    assert [k for k in t["Resources"] if k.startswith("Instance")] == ["Instance1", "Instance2"]
    assert "ReaderEndpoint" in t["Outputs"]
    s = json.loads(build_database(DatabaseShape(DatabaseConfig(name="c", engine="aurora-mysql", serverless=Serverless(0.5, 4)), False)).to_json())
    assert s["Resources"]["Database"]["Properties"]["ServerlessV2ScalingConfiguration"] == {"MaxCapacity": 4.0, "MinCapacity": 0.5}
    assert s["Resources"]["Instance1"]["Properties"]["DBInstanceClass"] == "db.serverless"


def test_a_service_gets_its_database_as_env_and_secrets() -> None:
    cfg = parse_config(BASE + "databases:\n  - name: main\nservices:\n  - {name: api, image: nginx, port: 80, databases: [main]}\n")
    files = compile_stack(cfg).files
    root = json.loads(files["stack.json"])["Resources"]
    params = root["ApiService"]["Properties"]["Parameters"]
    assert params["Database1"] == "main" and params["Database1SecretArn"] == {"Fn::GetAtt": ["MainDatabase", "Outputs.SecretArn"]}
    svc = json.loads(files[root["ApiService"]["Properties"]["TemplateURL"]])
    container = svc["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {e["Name"] for e in container["Environment"]} >= {"MAIN_HOST", "MAIN_PORT", "MAIN_NAME"}
    secrets = {s["Name"]: s["ValueFrom"]["Fn::Join"][1][1] for s in container["Secrets"]}
    assert secrets == {"MAIN_USERNAME": ":username::", "MAIN_PASSWORD": ":password::"}
    reads = next(s for s in svc["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                 if s["Sid"] == "DatabaseSecrets")
    assert reads["Action"] == ["secretsmanager:GetSecretValue"] and len(reads["Resource"]) == 1, "exactly that secret"


def test_an_iam_user_never_outputs_its_secret_key() -> None:
    user = IamUserConfig(name="ci", policies=({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::a/*"},))
    t = json.loads(build_iam_user(IamUserShape(user, "acme-staging")).to_json())
    assert set(t["Outputs"]) == {"UserArn", "AccessKeyId", "SecretArn"}
    assert "SecretAccessKey" not in json.dumps([o["Value"] for o in t["Outputs"].values()])
    secret = t["Resources"]["AccessKeySecret"]["Properties"]["SecretString"]["Fn::Sub"]
    assert secret[1] == {"Secret": {"Fn::GetAtt": ["AccessKey", "SecretAccessKey"]}}, "resolved by CloudFormation, in no file"
    assert t["Resources"]["User"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"] == ["s3:PutObject"]


@pytest.mark.parametrize("text,error", [
    ("databases:\n  - {name: main, engine: oracle}", "databases.main.engine: 'oracle' is not a database engine"),
    ("databases:\n  - {name: main, engine_version: 9.6.1}", "databases.main.engine_version: '9.6.1' is not a postgres version RDS offers"),
    ("databases:\n  - {name: main, engine_version: 16}", "databases.main.engine_version: 16 is read as the number 16"),
    ("databases:\n  - {name: main, engine_version: '9.6'}", "use one of 13, 14, 15, 16, 17"),
    ("services:\n  - {name: api, image: nginx, port: 80, databases: [main]}", "services.api.databases: 'main' is not a database of this stack"),
    ("iam_users:\n  - {name: ci, policies: [{Effect: Allow, Action: s3:Fly, Resource: '*'}]}", "iam_users.ci.policies[0].Action: s3:Fly is not an action of s3"),
])
def test_bad_data_settings_are_one_line(text: str, error: str) -> None:
    from stack_cfn.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config(BASE + text + "\n")
    assert error in str(err.value) and "\n" not in str(err.value)
