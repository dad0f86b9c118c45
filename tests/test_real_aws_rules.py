"""Rules real AWS enforces on what we emit and that moto and cfn-lint do not (issue 18, template side).

Each test names the rule and its source. They run over every template we emit: the example stack, the
security-gate matrix (tests/matrix/) and the drop-in templates/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache

import botocore.session
import pytest

from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.blueprints.iam import secret_resource
from stack_cfn.model.data import IAM_USER_NAME_MAX, iam_user_name
from stack_cfn.model.loading import load_config, parse_config
from stack_cfn.model.regions import COMMERCIAL_REGIONS, ELB_LOG_ACCOUNTS, KNOWN_REGIONS
from stack_cfn.ship.lint import lint_findings
from tests.conftest import ROOT

MATRIX = [ROOT / "stack.yaml", *sorted((ROOT / "tests" / "matrix").glob("*.yaml"))]
USERS = "name: acme\nenvironment: staging\niam_users:\n  - {name: ci, policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]}\n"


@cache
def emitted() -> dict[str, dict]:
    """Every template we emit, by `<source>/<file>`."""
    out = {f"templates/{name}": json.loads(body) for name, body in compile_generic().files.items()}
    for path in MATRIX:
        out |= {f"{path.stem}/{name}": json.loads(body) for name, body in compile_stack(load_config(path)).files.items()}
    return out


def resources(kind: str) -> Iterator[tuple[str, str, dict]]:
    for name, t in emitted().items():
        for logical, r in t.get("Resources", {}).items():
            if r["Type"] == kind:
                yield name, logical, r


def policy_documents() -> Iterator[tuple[str, str, dict]]:
    """Every IAM policy document in every emitted template (roles' and users' inline policies, standalone policies)."""
    for name, t in emitted().items():
        for logical, r in t.get("Resources", {}).items():
            props = r.get("Properties", {})
            for policy in props.get("Policies", []) if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::User") else []:
                yield name, logical, policy["PolicyDocument"]
            if r["Type"] == "AWS::IAM::Policy":
                yield name, logical, props["PolicyDocument"]


# ---------------------------------------------------------------- items 1 and 2: IAM users


def test_iam_user_names_fit_iams_64_characters_and_are_predictable() -> None:
    """IAM API reference, CreateUser: UserName is 1 to 64 characters of [\\w+=,.@-]. The name is <stack>-<user>, and
    past 64 characters the same inputs always give the same shortened name; it never carries a random suffix."""
    assert iam_user_name("acme-staging", "ci") == "acme-staging-ci"
    stack = "a" * 31 + "-" + "b" * 31  # a 63-character stack name
    name = iam_user_name(stack, "ci")
    assert len(name) == IAM_USER_NAME_MAX and name == iam_user_name(stack, "ci")
    assert name.startswith("a" * 31 + "-") and re.fullmatch(r".*-ci-[0-9a-f]{8}", name)
    assert iam_user_name(stack, "cd") != name, "distinct users stay distinct"
    for user in ("x", "u" * 54, "u" * 55, "u" * 64):
        assert len(iam_user_name(stack, user)) <= IAM_USER_NAME_MAX and re.fullmatch(r"[\w+=,.@-]+", iam_user_name(stack, user))


def test_iam_user_is_named_from_the_stack_file_and_exports_under_the_root_stack_name() -> None:
    """AWS::IAM::User reference: "If you specify a name, you must specify the CAPABILITY_NAMED_IAM value" (the deploy
    derives it from the template). The name is decided at build time, from the stack file, not from the nested stack's
    name (which carries CloudFormation's random suffix); exports are <root stack>-<user>-<Output>, as a database's are."""
    files = {name: json.loads(body) for name, body in compile_stack(parse_config(USERS)).files.items()}
    nested = files["stack.json"]["Resources"]["CiUser"]["Properties"]
    assert nested["Parameters"]["UserName"] == "acme-staging-ci"
    assert nested["Parameters"]["StackName"] == {"Ref": "AWS::StackName"}
    user = files[nested["TemplateURL"]]
    assert user["Resources"]["User"]["Properties"]["UserName"] == {"Ref": "UserName"}
    assert user["Parameters"]["UserName"]["MaxLength"] == IAM_USER_NAME_MAX
    export = user["Outputs"]["AccessKeyId"]["Export"]["Name"]
    assert export == {"Fn::Join": ["-", [{"Fn::If": ["HasStackName", {"Ref": "StackName"}, {"Ref": "AWS::StackName"}]}, {"Ref": "Name"}, "AccessKeyId"]]}


def test_the_generic_user_template_asks_for_its_name() -> None:
    """templates/iam-user.json: the IAM user's name is a required parameter, at most 64 characters (IAM CreateUser)."""
    t = emitted()["templates/iam-user.json"]
    assert "Default" not in t["Parameters"]["UserName"] and t["Parameters"]["UserName"]["MaxLength"] == IAM_USER_NAME_MAX


# ---------------------------------------------------------------- item 7: alarms reach their topic


def test_no_topic_cloudwatch_publishes_to_is_encrypted_with_the_aws_managed_key() -> None:
    """AWS knowledge center "cloudwatch-receive-sns-for-alarm-trigger" / "cloudwatch-configure-alarm-sns" (and
    aws-cdk#11121): CloudWatch alarms cannot publish to a topic encrypted with alias/aws/sns, whose key policy cannot
    be edited; the topic needs a customer-managed key whose policy admits cloudwatch.amazonaws.com."""
    assert not [name for name, t in emitted().items() if "alias/aws/sns" in json.dumps(t)]
    topics = list(resources("AWS::SNS::Topic"))
    assert topics, "the alarms matrix makes a topic"
    for name, _, topic in topics:
        key_id = topic["Properties"]["KmsMasterKeyId"]
        key = emitted()[name]["Resources"][key_id["Ref"]]
        assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
        statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
        cloudwatch = statements["CloudWatchAlarmsPublish"]
        assert cloudwatch["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
        assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        asg = statements["AutoScalingNotificationsPublish"]
        assert "AWSServiceRoleForAutoScaling" in json.dumps(asg["Condition"]["ArnEquals"]["aws:PrincipalArn"])
        assert statements["AccountAdministers"]["Action"] == ["kms:*"], "KMS default key policy: the account keeps control"


# ---------------------------------------------------------------- item 12: retained log groups


def test_no_log_group_has_a_fixed_name() -> None:
    """Service log groups are retained on delete. A fixed LogGroupName then makes the next create of that name fail
    ("already exists"): destroy then deploy under the same name, or a nested stack rebuilt on update. Without it,
    CloudFormation generates a unique name (AWS::Logs::LogGroup reference, LogGroupName); tasks get it by Ref."""
    groups = list(resources("AWS::Logs::LogGroup"))
    assert groups
    for name, logical, group in groups:
        assert "LogGroupName" not in group["Properties"], f"{name} {logical}"
        container = emitted()[name]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": logical}


def test_a_service_writes_logs_to_its_own_groups_streams() -> None:
    """CreateLogStream and PutLogEvents authorize on log-stream ARNs (log-group:<name>:log-stream:<stream>); the
    group's Fn::GetAtt Arn ends in `:*` (AWS::Logs::LogGroup return values), so it covers exactly its streams."""
    for name, _, role in resources("AWS::IAM::Role"):
        for policy in role["Properties"].get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                if any(a.startswith("logs:") for a in s["Action"]):
                    assert s["Resource"] == [{"Fn::GetAtt": ["LogGroup", "Arn"]}], name


# ---------------------------------------------------------------- item 18: ELB access logs in every Region


def test_every_commercial_region_botocore_knows_is_known() -> None:
    """ELB user guides, "Enable access logs": the logdelivery.elasticloadbalancing.amazonaws.com principal delivers in
    every commercial Region (since 2025 the older ones too; Classic Load Balancer document history). So a Region AWS
    opens needs only its name here; botocore's endpoint data names them."""
    session = botocore.session.get_session()
    assert set(session.get_available_regions("ec2", partition_name="aws")) <= COMMERCIAL_REGIONS
    assert "ap-southeast-6" in KNOWN_REGIONS
    assert set(ELB_LOG_ACCOUNTS) == {"us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"}


def test_log_bucket_policy_lints_clean_in_a_new_region_and_in_govcloud() -> None:
    """The account table is read only outside the commercial partition (Fn::If on AWS::Partition), so the template is
    valid in a Region the table does not list (cfn-lint resolves Fn::FindInMap per Region)."""
    body = json.dumps(emitted()["stack/network.json"])
    assert lint_findings("network.json", body, regions=("ap-southeast-6", "us-gov-west-1", "us-east-1"), ignore=()) == []
    policy = emitted()["stack/network.json"]["Resources"]["LogBucketPolicy"]["Properties"]["PolicyDocument"]
    condition, _, principal = policy["Statement"][0]["Fn::If"]
    assert emitted()["stack/network.json"]["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws"]}]}
    assert principal["Principal"] == {"Service": ["logdelivery.elasticloadbalancing.amazonaws.com"]}


# ---------------------------------------------------------------- item 19: trust conditions AWS documents


def test_trust_conditions_are_only_those_aws_documents() -> None:
    """aws:SourceAccount on a trust policy is documented for ecs-tasks.amazonaws.com (ECS developer guide, "Amazon ECS
    task IAM role"), not for the classic-ELB service role's ecs.amazonaws.com nor for EC2 instance profiles: a
    condition on a key the service does not send would keep the service from assuming the role."""
    seen = set()
    for name, logical, role in resources("AWS::IAM::Role"):
        for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = s["Principal"]["Service"][0]
            seen.add(service)
            # Scheduler User Guide, "Set up the execution role"; Step Functions developer guide, "Creating an IAM role for your
            # state machine" ("Prevent cross-service confused deputy issue": aws:SourceAccount in the trust policy)
            if service in ("ecs-tasks.amazonaws.com", "scheduler.amazonaws.com", "states.amazonaws.com"):
                assert s["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}, f"{name} {logical}"
            else:
                assert "Condition" not in s, f"{name} {logical} ({service})"
    assert {"ecs.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com"} <= seen


# ---------------------------------------------------------------- review: every Resource is the ARN AWS checks


@pytest.mark.parametrize("ref,resource", [
    ("arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf", "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf"),
    ("arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf:password::", "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf"),
    ("arn:aws:secretsmanager:us-west-2:123456789012:secret:db", "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-??????"),
    ("arn:aws:secretsmanager:us-west-2:123456789012:secret:team/db:password::", "arn:aws:secretsmanager:us-west-2:123456789012:secret:team/db-??????"),
    ("arn:aws:ssm:us-west-2:123456789012:parameter/app/token", "arn:aws:ssm:us-west-2:123456789012:parameter/app/token"),
])
def test_secret_resources_match_the_arn_secrets_manager_and_ssm_check(ref: str, resource: str) -> None:
    """Secrets Manager appends `-` and 6 random characters to a secret's ARN and IAM compares the whole ARN: a name-only
    ARN needs the documented `-??????` (Secrets Manager user guide, "Permissions policy examples"); a json-key suffix
    (`:password::`) is ECS's, not part of the ARN."""
    assert secret_resource(ref) == resource


def test_parameter_names_become_arns_without_the_leading_slash() -> None:
    """SSM parameter ARNs are arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash> (Systems Manager
    user guide, "Restricting access to Parameter Store parameters using IAM policies")."""
    joined = secret_resource("/app/token").to_dict()["Fn::Join"]  # type: ignore[attr-defined]
    assert joined[1][-1] == "parameter/app/token"


def test_every_emitted_secrets_manager_resource_names_a_whole_arn() -> None:
    """Over every policy we emit: a literal Secrets Manager Resource ends in the 6-character suffix or `-??????`."""
    literal = [r for _, _, doc in policy_documents() for s in doc["Statement"] for r in s["Resource"]
               if isinstance(r, str) and ":secretsmanager:" in r]
    assert literal, "the secrets matrix reads secrets"
    assert [r for r in literal if not re.search(r":secret:.+-([A-Za-z0-9]{6}|\?{6})$", r)] == []


def test_kms_decrypt_names_key_arns_only() -> None:
    """kms:Decrypt authorizes on the key's ARN; an alias ARN in Resource grants nothing (KMS developer guide, "Using
    aliases to control access to KMS keys"). The model accepts only key ARNs for kms_key_arn."""
    for _, _, doc in policy_documents():
        for s in doc["Statement"]:
            if "kms:Decrypt" in s["Action"]:
                assert all(not isinstance(r, str) or ":key/" in r for r in s["Resource"]), s


# ---------------------------------------------------------------- item 8: rotated database passwords


def test_a_service_can_reread_its_databases_rotated_password() -> None:
    """RDS rotates the managed master password every 7 days by default (RDS user guide, "Password management with
    Amazon RDS and AWS Secrets Manager"); ECS injects <PREFIX>_PASSWORD only at container start ("If the secret is
    subsequently updated or rotated, the container will not receive the updated value automatically": ECS developer
    guide, "Pass Secrets Manager secrets through Amazon ECS environment variables"). So each service gets the secret's
    ARN and its own task role may read exactly that secret, to re-read the password when a login fails."""
    files = {name: json.loads(body) for name, body in compile_stack(load_config(ROOT / "tests" / "matrix" / "databases.yaml")).files.items()}
    svc = files[files["stack.json"]["Resources"]["ApiService"]["Properties"]["TemplateURL"]]["Resources"]
    env = {e["Name"]: e["Value"] for e in svc["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]}
    secrets = {s["Name"] for s in svc["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Secrets"]}
    assert {"MAIN_PASSWORD", "WH_PASSWORD"} <= secrets, "still injected at start"
    policy = {p["PolicyName"]: p["PolicyDocument"] for p in svc["TaskRole"]["Properties"]["Policies"]}["reread-database-secrets"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == [env["MAIN_SECRET_ARN"], env["WH_SECRET_ARN"]], "exactly the secrets it names, by the same ARN"
    worker = files[files["stack.json"]["Resources"]["JobsService"]["Properties"]["TemplateURL"]]["Resources"]
    reads = [r for p in worker["TaskRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"] for r in s["Resource"]]
    assert len(reads) == 1, "the worker names one database"


def test_container_instance_actions_name_container_instances() -> None:
    """ecs:UpdateContainerInstancesState, Poll and StartTelemetrySession authorize on container-instance ARNs
    (container-instance/<cluster>/<id>), not on the cluster (Service Authorization Reference, Amazon ECS; aws-cdk#3199):
    with the cluster's ARN as Resource the call is denied. They are scoped to the cluster by the ecs:cluster key."""
    cluster = emitted()["stack/cluster.json"]["Resources"]["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in cluster}
    session = by_sid["EcsAgentSession"]
    assert {"ecs:UpdateContainerInstancesState", "ecs:Poll", "ecs:StartTelemetrySession"} <= set(session["Action"])
    assert "container-instance/*" in json.dumps(session["Resource"]) and "ecs:cluster" in session["Condition"]["ArnEquals"]
    assert "ecs:UpdateContainerInstancesState" not in by_sid["EcsClusterMembership"]["Action"]
