"""Secure by default, rule by rule, in the compiled templates (the e2e module checks them through the AWS APIs)."""

from __future__ import annotations

import json

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.service import build_service
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.loading import parse_config

REGION_SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf"
CERT = "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def template(svc: ServiceConfig) -> dict:
    return json.loads(build_service(svc).to_json())


def container(svc: ServiceConfig) -> dict:
    return template(svc)["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]


def test_every_service_has_its_own_empty_task_role() -> None:
    t = template(ServiceConfig(name="api", image="nginx", port=80))
    role = t["Resources"]["TaskRole"]
    assert role["Condition"] == "OwnTaskRole"
    assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"], "no permissions unless asked"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    task_role = t["Resources"]["TaskDefinition"]["Properties"]["TaskRoleArn"]
    assert task_role == {"Fn::If": ["HasTaskRole", {"Ref": "TaskRoleArn"}, {"Fn::GetAtt": ["TaskRole", "Arn"]}]}


def test_policies_become_the_task_roles_permissions() -> None:
    svc = parse_config("name: a\nenvironment: b\nservices:\n  - name: api\n    image: nginx\n    port: 80\n    policies:\n"
                       "      - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\n"
                       "      - {Effect: Allow, Action: [sqs:SendMessage], Resource: 'arn:aws:sqs:us-west-2:123456789012:jobs'}\n").services[0]
    role = template(svc)["Resources"]["TaskRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    assert role["Policies"][0]["PolicyDocument"]["Statement"] == [
        {"Action": ["sqs:SendMessage"], "Effect": "Allow", "Resource": ["arn:aws:sqs:us-west-2:123456789012:jobs"]}]


def test_every_container_knows_its_region() -> None:
    env = {e["Name"]: e["Value"] for e in container(ServiceConfig(name="api", image="nginx", port=80, env={"A": "1"}))["Environment"]}
    assert env == {"A": "1", "AWS_REGION": {"Ref": "AWS::Region"}, "AWS_DEFAULT_REGION": {"Ref": "AWS::Region"}}
    mine = {e["Name"]: e["Value"] for e in container(ServiceConfig(name="api", image="nginx", port=80, env={"AWS_REGION": "eu-west-1"}))["Environment"]}
    assert mine["AWS_REGION"] == "eu-west-1", "the stack file's own value wins"


def test_secrets_are_references_read_by_exactly_their_execution_role() -> None:
    svc = ServiceConfig(name="api", image="nginx", port=80, kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/abc-1",
                        secrets={"DB_PASSWORD": REGION_SECRET + ":password::", "TOKEN": "/api/token",
                                 "KEY": "arn:aws:ssm:us-west-2:123456789012:parameter/api/key"},
                        repository_credentials="arn:aws:secretsmanager:us-west-2:123456789012:secret:registry-AbCdEf")
    c = container(svc)
    assert c["Secrets"] == [{"Name": "DB_PASSWORD", "ValueFrom": REGION_SECRET + ":password::"},
                            {"Name": "KEY", "ValueFrom": "arn:aws:ssm:us-west-2:123456789012:parameter/api/key"},
                            {"Name": "TOKEN", "ValueFrom": "/api/token"}]
    assert c["RepositoryCredentials"] == {"CredentialsParameter": "arn:aws:secretsmanager:us-west-2:123456789012:secret:registry-AbCdEf"}
    statements = {s["Sid"]: s for s in template(svc)["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["Secrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert statements["Secrets"]["Resource"] == ["arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf",
                                                 "arn:aws:secretsmanager:us-west-2:123456789012:secret:registry-AbCdEf"]
    by_name, by_arn = statements["Parameters"]["Resource"]
    assert by_name["Fn::Join"][1][-1] == "parameter/api/token", "a parameter name becomes this account's and region's ARN"
    assert by_arn == "arn:aws:ssm:us-west-2:123456789012:parameter/api/key"
    assert statements["DecryptSecrets"] == {"Action": ["kms:Decrypt"], "Effect": "Allow", "Resource": ["arn:aws:kms:us-west-2:123456789012:key/abc-1"],
                                            "Sid": "DecryptSecrets"}


def test_a_service_without_secrets_reads_none() -> None:
    statements = template(ServiceConfig(name="api", image="nginx", port=80))["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]
    assert {s["Sid"] for s in statements["PolicyDocument"]["Statement"]} == {"EcrAuth", "EcrPull", "Logs"}


def test_literal_secret_looking_env_is_a_warning() -> None:
    svc = ServiceConfig(name="api", image="nginx", port=80, env={"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"})
    assert svc.warnings == ("services.api.env.DB_PASSWORD: looks like a secret but is a literal in the task definition; put it under secrets: instead",)


@pytest.mark.parametrize("keep,policy", [(True, "Retain"), (False, "Delete")])
def test_service_log_groups_are_kept_on_delete(keep: bool, policy: str) -> None:
    group = template(ServiceConfig(name="api", image="nginx", port=80, log_retention_on_delete=keep))["Resources"]["LogGroup"]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == policy


def test_albs_drop_invalid_headers_and_may_be_protected() -> None:
    t = template(ServiceConfig(name="api", image="nginx", port=80, deletion_protection=True))
    attrs = {a["Key"]: a["Value"] for a in t["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == {"Ref": "DeletionProtection"} and t["Parameters"]["DeletionProtection"]["Default"] == "false"


def test_public_web_services_need_a_certificate_in_the_template_too() -> None:
    t = template(ServiceConfig(name="www", image="nginx", port=80, kind="web-service", ssl_certificate_id=CERT))
    rule = t["Rules"]["CertificateRequired"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Https"}, "true"]}
    assert t["Parameters"]["Https"]["Default"] == "true"
    listener = t["Resources"]["HttpListener"]["Properties"]["DefaultActions"]["Fn::If"]
    assert listener[0] == "HasCertificate" and listener[1][0]["Type"] == "redirect"


def test_the_classic_https_listener_uses_tls_1_2() -> None:
    lb = template(ServiceConfig(name="www", image="nginx", port=80, kind="web-service", load_balancer="classic", ssl_certificate_id=CERT))
    props = lb["Resources"]["LoadBalancer"]["Properties"]
    assert props["Policies"] == [{"Attributes": [{"Name": "Reference-Security-Policy", "Value": "ELBSecurityPolicy-TLS-1-2-2017-01"}],
                                  "PolicyName": "tls12", "PolicyType": "SSLNegotiationPolicyType"}]
    https = props["Listeners"][1]["Fn::If"][1]
    assert https["LoadBalancerPort"] == "443" and https["PolicyNames"] == ["tls12"]


def test_network_audit_and_scoping() -> None:
    t = json.loads(build_network(StackConfig(name="a", environment="b")).to_json())
    res = t["Resources"]
    flow = res["FlowLog"]
    assert flow["Condition"] == "FlowLogsOn" and flow["Properties"]["TrafficType"] == "ALL" and flow["Properties"]["LogDestinationType"] == "s3"
    assert t["Parameters"]["FlowLogs"]["Default"] == "true"
    choice = res["LogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Fn::If"]
    for delivery in choice[1:]:  # by the region's ELB account, or by the service principal
        assert delivery["Sid"] == "ElbAccessLogDelivery"
        assert delivery["Resource"][0]["Fn::Join"][1][-3:] == ["/*/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"], "only under AWSLogs/<this account>/"
    assert t["Parameters"]["SshCidr"]["Default"] == "", "no SSH unless the stack file names a range"
    nat = res["NatInstance1"]["Properties"]
    assert nat["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert nat["MetadataOptions"]["HttpPutResponseHopLimit"] == 1 and nat["IamInstanceProfile"] == {"Ref": "NatInstanceProfile"}


def test_the_cluster_admits_only_ssh_from_the_bastion_group() -> None:
    files = compile_stack(StackConfig(name="a", environment="b")).files
    ingress = json.loads(files["cluster.json"])["Resources"]["ClusterIngressFromInternalSsh"]["Properties"]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 22, 22)
