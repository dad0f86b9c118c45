"""examples/deployer-policy.json allows every AWS call stack-cfn makes and what its templates create.

Two parts, as AWS splits them. stack-cfn's own calls (tests/aws_calls.py reads them from the
source) are listed action by action. CloudFormation then creates the templates' resources with
the caller's permissions (no service role is passed), so the policy grants each service the
templates use: every resource type compiled from the example, the security gate's matrix and the
drop-in templates must map to a service the policy allows.
"""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from stack_cfn.blueprints.compiler import compile_generic, compile_stack
from stack_cfn.model.loading import load_config
from tests.aws_calls import ROOT, calls, client_names, modules

POLICY = ROOT / "examples" / "deployer-policy.json"

# API operations whose IAM action has another name. Source: Service Authorization Reference,
# "Actions, resources, and condition keys for Amazon S3" (HeadBucket needs s3:ListBucket,
# HeadObject s3:GetObject), and the AWS STS API reference, GetCallerIdentity: "No permissions are
# required to perform this operation."
IAM_ACTION = {("s3", "HeadBucket"): "s3:ListBucket", ("s3", "HeadObject"): "s3:GetObject", ("sts", "GetCallerIdentity"): None}
# The IAM prefix of each CloudFormation resource namespace the templates use (Service Authorization Reference).
PREFIX = {"ApplicationAutoScaling": "application-autoscaling", "AutoScaling": "autoscaling", "CloudWatch": "cloudwatch", "EC2": "ec2",
          "ECS": "ecs", "ElasticLoadBalancing": "elasticloadbalancing", "ElasticLoadBalancingV2": "elasticloadbalancing", "IAM": "iam",
          "Logs": "logs", "RDS": "rds", "Route53": "route53", "S3": "s3", "SecretsManager": "secretsmanager", "SNS": "sns", "KMS": "kms",
          "CloudFormation": "cloudformation", "SQS": "sqs", "Scheduler": "scheduler", "Events": "events",
          "StepFunctions": "states"}
# boto3 clients whose IAM prefix is another name (Service Authorization Reference: AWS Step Functions' prefix is states).
CLIENT_PREFIX = {"stepfunctions": "states"}
# Calls spelled like an AWS operation that are not one: cfn-lint's runner.
NOT_AWS = {("stack_cfn/ship/lint.py", "validate_template")}


def allowed(policy: dict, action: str) -> bool:
    """True when an Allow statement's Action pattern matches (IAM action names are case-insensitive)."""
    for statement in policy["Statement"]:
        patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatch(action.lower(), p.lower()) for p in patterns):
            return True
    return False


def own_actions() -> dict[str, set[str]]:
    """IAM action -> the modules whose calls need it."""
    needed: dict[str, set[str]] = {}
    for svc, operation, module in calls():
        action = IAM_ACTION.get((svc, operation), f"{CLIENT_PREFIX.get(svc, svc)}:{operation}")
        if action:
            needed.setdefault(action, set()).add(module)
    return needed


def test_the_policy_allows_every_call_stack_cfn_makes() -> None:
    policy = json.loads(POLICY.read_text())
    needed = own_actions()
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "s3:PutObject", "ecs:DescribeTasks"} <= set(needed), "the scan finds calls"
    missing = {action: sorted(where) for action, where in needed.items() if not allowed(policy, action)}
    assert not missing, f"add to {POLICY.name}: {missing}"


def test_the_check_fails_when_an_action_is_missing() -> None:
    policy = json.loads(POLICY.read_text())
    policy["Statement"][0]["Action"] = [a for a in policy["Statement"][0]["Action"] if a != "cloudformation:ExecuteChangeSet"]
    assert not allowed(policy, "cloudformation:ExecuteChangeSet")


def test_every_aws_call_is_seen_by_the_scan() -> None:
    """A client under another name would hide its calls: any method spelled like an operation of a
    service we use must be one the scan attributed, or listed as not an AWS call."""
    from tests.aws_calls import _operations

    names = client_names(modules())
    services = set(names.values()) | {svc for svc, _, _ in calls()}
    operations = {m for svc in services for m in _operations(svc)}
    seen = {(module, re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()) for _, op, module in calls()}
    ours = {p.stem for p in (ROOT / "stack_cfn").rglob("*.py")}  # deploy.create_change_set is our function, not the API
    unseen = set()
    for module in modules():
        for receiver, method in set(re.findall(r"(\w+)\.([a-z][a-z0-9_]*)\(", (ROOT / module).read_text())):
            if method in operations and receiver not in ours and (module, method) not in seen | NOT_AWS:
                unseen.add((module, method))
    assert not unseen, f"calls on a client the scan cannot name (bind clients as cfn/s3/ecs/... = target.client(...)): {sorted(unseen)}"


def resource_types() -> set[str]:
    types: set[str] = set()
    stacks = [ROOT / "stack.yaml", *sorted((ROOT / "tests" / "matrix").glob("*.yaml"))]
    bodies = [b for p in stacks for b in compile_stack(load_config(p)).files.values()] + list(compile_generic().files.values())
    for body in bodies:
        types |= {r["Type"] for r in json.loads(body).get("Resources", {}).values()}
    return types


def test_the_policy_allows_what_the_templates_create() -> None:
    policy = json.loads(POLICY.read_text())
    types = resource_types()
    assert "AWS::ECS::Service" in types and "AWS::RDS::DBInstance" in types
    unknown = sorted(t for t in types if t.split("::")[1] not in PREFIX)
    assert not unknown, f"name the IAM prefix of {unknown} in PREFIX and grant it in {POLICY.name}"
    for prefix in sorted({PREFIX[t.split("::")[1]] for t in types} - {"iam", "cloudformation"}):
        create = {"kms": "kms:CreateKey"}.get(prefix, f"{prefix}:CreateSomething")  # keys: granted action by action, never kms:*
        assert allowed(policy, create) or allowed(policy, f"{prefix}:*"), prefix
    for action in ("iam:CreateRole", "iam:PassRole", "iam:CreateInstanceProfile", "iam:CreateUser", "iam:CreateAccessKey", "cloudformation:CreateStack"):
        assert allowed(policy, action), action
    assert allowed(policy, "ssm:GetParameters"), "SSM-typed parameters (the AMIs) are resolved with the caller's permissions"


def test_the_policy_stays_within_reason() -> None:
    """No "*" action, no iam:* and IAM only on roles, users and instance profiles; within IAM's
    6,144-character managed policy quota (IAM and AWS STS quotas, "Managed policy size", whitespace not counted)."""
    text = POLICY.read_text()
    policy = json.loads(text)
    actions = [a for s in policy["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert "*" not in actions and "iam:*" not in actions
    for statement in policy["Statement"]:
        if any(a.startswith("iam:") for a in statement["Action"]):
            assert statement["Resource"] != "*", statement["Sid"]
    assert len(re.sub(r"\s", "", text)) <= 6144


@pytest.mark.parametrize("action", ["s3:PutObject", "s3:GetObject"])
def test_the_template_bucket_is_the_default_ones(action: str) -> None:
    """The bucket stack-cfn creates is stack-cfn-<account>-<region> (app.resolve_bucket); the policy names that prefix."""
    policy = json.loads(POLICY.read_text())
    bucket = next(s for s in policy["Statement"] if s["Sid"] == "TemplateBucket")
    assert action in bucket["Action"] and "arn:aws:s3:::stack-cfn-*/*" in bucket["Resource"]
