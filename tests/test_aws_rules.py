"""AWS's deploy-time rules the model checks (model/aws_facts.py, model/offerings.py, model/aws_checks.py).

Each test names the rule and its source. Broken stack files for each class are in tests/broken/ (300-330).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stack_cfn import cli
from stack_cfn.blueprints import userdata
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.errors import ConfigError, DeployError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import offerings
from stack_cfn.model.aws_checks import LONGEST_OUTPUT, OWN_USER_DATA_BYTES, check_aws_rules, derived_names
from stack_cfn.model.config import StackConfig
from stack_cfn.model.data import DatabaseConfig, IamUserConfig, Serverless
from stack_cfn.model.loading import load_config
from stack_cfn.model.releases import read_releases
from stack_cfn.ship.deploy import check_bucket_name
from stack_cfn.ship.placement_file import read_placement
from stack_cfn.ship.stackset import region_plans

USER_POLICY = ("arn:aws:iam::aws:policy/ReadOnlyAccess",)


# ---------------------------------------------------------------- region offerings (issue 18, item 5)


def test_the_shipped_offerings_data_says_what_the_issue_found() -> None:
    """cfn-lint's pricing data (instancetype_enum.json, dbinstanceclass_enum.json): m7i.large is not offered in
    ca-west-1 nor me-south-1; db.t4g.medium not for RDS PostgreSQL/MySQL in ca-west-1 nor for Aurora in
    il-central-1. The data says RDS does offer db.t4g.medium in me-south-1 (the issue said otherwise): the data wins."""
    assert "m7i.large" not in offerings.ec2_types("ca-west-1")
    assert "m7i.large" not in offerings.ec2_types("me-south-1")
    assert "m7i.large" in offerings.ec2_types("us-west-2")
    for engine in ("postgres", "mysql"):
        assert "db.t4g.medium" not in offerings.rds_classes("ca-west-1", engine)
        assert "db.t4g.medium" in offerings.rds_classes("me-south-1", engine)
    for engine in ("aurora-postgresql", "aurora-mysql"):
        assert "db.t4g.medium" not in offerings.rds_classes("il-central-1", engine)
        assert "db.t4g.medium" in offerings.rds_classes("us-west-2", engine)


def test_aurora_has_no_burstable_class_below_medium() -> None:
    """Aurora's smallest burstable classes are db.t3/t4g.medium (Aurora user guide, "DB instance classes"): no region offers db.t4g.micro."""
    assert not any("db.t4g.micro" in offerings.rds_classes(r, "aurora-postgresql") for r in offerings.ec2_offerings())
    with pytest.raises(ConfigError, match=r"db.t4g.micro is not an instance class of aurora-postgresql; use db.t4g.medium"):
        offerings.check_db_class("instance_class", "db.t4g.micro", "aurora-postgresql", "us-west-2")


def test_an_error_names_an_alternative_the_region_offers() -> None:
    with pytest.raises(ConfigError) as exc:
        StackConfig(name="demo", environment="dev", region="ca-west-1")
    alternative = str(exc.value).split("use ")[1].split(",")[0]
    assert str(exc.value).startswith("ecs_instance_type: m7i.large is not offered in ca-west-1")
    assert alternative in offerings.ec2_types("ca-west-1")


def test_every_stackset_region_is_checked_before_anything_is_compiled() -> None:
    """StackSet instances deploy the same template to each region: each region must offer the types."""
    cfg = StackConfig(name="demo", environment="dev")
    region_plans(cfg, ["us-west-2", "us-east-1"])
    with pytest.raises(ConfigError, match="m7i.large is not offered in me-south-1"):
        region_plans(cfg, ["us-west-2", "me-south-1"])


def test_a_type_only_the_stack_does_not_use_is_not_judged_by_region() -> None:
    """NAT instances and the bastion are made only when used: an unused type need only exist."""
    StackConfig(name="demo", environment="dev", region="ca-west-1", ecs_instance_type="m6i.large", bastion=False, bastion_instance_type="m7i.large")


# ---------------------------------------------------------------- the check command


def run(argv: list[str], cwd: Path) -> int:
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return cli.main(argv)
    finally:
        os.chdir(here)


def test_check_runs_the_offerings_for_each_target_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stack.yaml").write_text("name: demo\nenvironment: dev\n", encoding="utf-8")
    assert run(["check"], tmp_path) == 0
    assert run(["check", "--region", "us-east-1,ca-west-1"], tmp_path) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: ecs_instance_type: m7i.large is not offered in ca-west-1; use ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.yaml"], "check writes nothing"


# ---------------------------------------------------------------- names the stack derives (63-character stack name)


def test_derived_names_fit_for_a_63_character_stack_name() -> None:
    """Every name the stack derives stays within AWS's limits for a 63-character stack name (the defaults, a service, a database)."""
    from stack_cfn.model.config import ServiceConfig

    cfg = StackConfig(name="demo", environment="dev", services=(ServiceConfig(name="api", image="nginx", port=80),),
                      databases=(DatabaseConfig(name="main"),))
    stack = "s" * 63
    check_aws_rules(cfg, "us-west-2", stack)
    assert {rule.what for rule, *_ in derived_names(cfg, stack)} >= {"the stack name", "an export name", "the capacity provider name"}


def test_an_iam_user_name_stays_within_64_for_a_63_character_stack() -> None:
    """IAM user names are at most 64 characters (IAM and AWS STS quotas; AWS::IAM::User UserName maxLength 64): the
    name is derived so that it always fits, and the model's check agrees with the name the template gets."""
    from stack_cfn.model.aws_checks import derived_names
    from stack_cfn.model.data import iam_user_name

    cfg = StackConfig(name="n" * 32, environment="e" * 30, iam_users=(IamUserConfig(name="github-actions-deployer", policies=USER_POLICY),))
    check_aws_rules(cfg, "us-west-2", "s" * 63)
    users = [name for rule, name, _, _ in derived_names(cfg, "s" * 63) if rule is F.IAM_USER_NAME]
    assert users == [iam_user_name("n" * 32 + "-" + "e" * 30, "github-actions-deployer")] and len(users[0]) <= 64


def test_a_stack_named_like_ecs_gets_a_capacity_provider_name_ecs_accepts() -> None:
    """ECS refuses capacity provider names prefixed aws, ecs or fargate (CreateCapacityProvider API; aws-cdk#29151): a stack
    file named so builds (the provider is named cp-...), and a --stack-name so prefixed over another name is refused."""
    for name in ("ecs-demo", "aws-demo", "fargate-x"):
        check_aws_rules(StackConfig(name=name, environment="dev"), "us-east-1")
    with pytest.raises(ConfigError, match=r"^--stack-name: the capacity provider name would be 'ecs-x-CapacityProvider', which starts with 'ecs'"):
        check_aws_rules(StackConfig(name="demo", environment="dev"), "us-east-1", "ecs-x")


def test_longest_output_bounds_every_exported_output() -> None:
    """Export names are <stack>-[<database or user>-]<Output>, at most 255 characters (aws-cdk#9733)."""
    cfg = StackConfig(name="demo", environment="dev", databases=(DatabaseConfig(name="main"),),
                      iam_users=(IamUserConfig(name="ci", policies=USER_POLICY),))
    names = [o for body in compile_stack(cfg).files.values() for o in json.loads(body).get("Outputs", {})]
    assert names and max(len(n) for n in names) <= LONGEST_OUTPUT


def test_stack_cfns_own_user_data_fits_its_reservation() -> None:
    """User data is at most 16 KB raw (EC2 user guide, "Work with instance user data"): stack-cfn's own part, with the
    longest cluster name (255), stays within OWN_USER_DATA_BYTES, so extra_cloud_config_content gets the rest."""
    body = userdata.user_data().to_dict()["Fn::Sub"]
    template = body[0] if isinstance(body, list) else body
    assert len(template.encode()) + 255 + 200 <= OWN_USER_DATA_BYTES  # 200: the commands substituted in
    assert F.USER_DATA_BYTES == 16384


# ---------------------------------------------------------------- databases


def test_aurora_serverless_v2_goes_from_0_to_256_acus() -> None:
    """ServerlessV2ScalingConfiguration: "The largest value that you can use is 256", min "0" with auto-pause (RDS API
    reference). troposphere's validator stops at 0.5-128 and crashed the build (exit 70)."""
    cfg = StackConfig(name="demo", environment="dev",
                      databases=(DatabaseConfig(name="main", engine="aurora-postgresql", serverless=Serverless(min_acu=0, max_acu=256)),))
    db = next(json.loads(b) for n, b in compile_stack(cfg).files.items() if "Database" in b and "DBCluster" in b)
    cluster = next(r for r in db["Resources"].values() if r["Type"] == "AWS::RDS::DBCluster")
    assert cluster["Properties"]["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.0, "MaxCapacity": 256.0}
    with pytest.raises(ConfigError, match="not 1 to 256"):
        Serverless(max_acu=256.5)


@pytest.mark.parametrize(("backup", "maintenance", "ok"), [
    ("23:30-00:30", "Mon:02:00-Mon:03:00", True),  # the backup window crosses midnight, apart from maintenance
    ("23:30-00:30", "Wed:00:15-Wed:01:00", False),  # ... and maintenance falls in its after-midnight half
    ("00:00-01:00", "Sun:23:00-Mon:00:00", False),  # maintenance crosses Sunday midnight into the daily backup
    ("03:00-04:00", "Sun:23:30-Mon:00:30", True),
])
def test_windows_are_apart_across_midnight(backup: str, maintenance: str, ok: bool) -> None:
    """PreferredBackupWindow "Must not conflict with the preferred maintenance window" (RDS CreateDBInstance API)."""
    if ok:
        DatabaseConfig(name="main", backup_window=backup, maintenance_window=maintenance)
    else:
        with pytest.raises(ConfigError, match="overlaps or touches the backup window"):
            DatabaseConfig(name="main", backup_window=backup, maintenance_window=maintenance)


def test_master_usernames_by_engine() -> None:
    """MasterUsername: rdsadmin on every engine, admin on PostgreSQL (cfn-lint#4425, aws-cdk#10597); at most 63 on RDS for
    PostgreSQL, 32 on RDS for MySQL (floci-io/floci#3730), 16 on Aurora (CreateDBCluster API)."""
    DatabaseConfig(name="main", engine="aurora-mysql", username="admin")
    DatabaseConfig(name="main", username="a" * 63)
    DatabaseConfig(name="main", engine="mysql", username="a" * 32)
    for engine, username in (("postgres", "admin"), ("aurora-postgresql", "ADMIN"), ("mysql", "rdsadmin"), ("postgres", "a" * 64),
                             ("mysql", "a" * 33), ("aurora-mysql", "a" * 17), ("aurora-postgresql", "a" * 17)):
        with pytest.raises(ConfigError, match="^databases.main.username: "):
            DatabaseConfig(name="main", engine=engine, username=username)  # type: ignore[arg-type]


def test_allocated_storage_zero_is_not_read_as_the_default() -> None:
    with pytest.raises(ConfigError, match="0 GiB is outside 20-65536"):
        DatabaseConfig(name="main", allocated_storage=0)
    assert DatabaseConfig(name="main").storage_gib == 20


# ---------------------------------------------------------------- partitions and regions


def test_partitions_follow_botocore_region_prefixes() -> None:
    assert [F.partition_of(r) for r in ("us-west-2", "cn-north-1", "us-gov-west-1", "il-central-1")] == ["aws", "aws-cn", "aws-us-gov", "aws"]


def test_a_kms_key_of_another_region_is_refused() -> None:
    """KMS keys are regional: a database is encrypted with a key of its own region."""
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    StackConfig(name="demo", environment="dev", region="eu-west-1", databases=(DatabaseConfig(name="main", kms_key_arn=key),))
    with pytest.raises(ConfigError, match="^databases.main.kms_key_arn: is in eu-west-1, but the stack deploys to us-west-2"):
        StackConfig(name="demo", environment="dev", databases=(DatabaseConfig(name="main", kms_key_arn=key),))


# ---------------------------------------------------------------- the files beside the stack file


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "stack.yaml").write_text("name: demo\nenvironment: dev\nservices:\n  - name: api\n    image: nginx\n    port: 80\n",
                                         encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / "stack.yaml"


@pytest.mark.parametrize(("text", "message"), [
    ("api: {version: 1.10}\n", "stack.releases.yaml: api: 1.10 is read as the number 1.1, not a version"),
    ("api: {version: null}\n", "stack.releases.yaml: api: has no version"),
    ("api: {version: '1'}\napi: {version: '2'}\n", "stack.releases.yaml: api: is given twice"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "expands to more than"),
])
def test_the_releases_file_is_read_with_the_stack_files_strictness(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path, "stack.releases.yaml", text)
    with pytest.raises(ConfigError) as exc:
        read_releases(config)
    assert message in str(exc.value)


@pytest.mark.parametrize(("text", "message"), [
    ("services: {api: 0}\nservices: {api: 0}\nload_balancers: {}\n", "stack.placement.yaml: services: is given twice"),
    ("services: {api: 0, www: 0}\nload_balancers:\n  api: {scheme: internal, balancer: 0, priority: 1}\n"
     "  www: {scheme: internal, balancer: 0, priority: 1}\n",
     "stack.placement.yaml: load_balancers.www: has priority 1 on internal load balancer 0, as api has"),
])
def test_the_placement_file_is_strict_and_priorities_unique(tmp_path: Path, text: str, message: str) -> None:
    """A listener rule priority is unique per listener (ELB CreateRule: PriorityInUse)."""
    config = write(tmp_path, "stack.placement.yaml", text)
    with pytest.raises(ConfigError) as exc:
        read_placement(config)
    assert message in str(exc.value)


def test_a_good_placement_file_still_reads(tmp_path: Path) -> None:
    config = write(tmp_path, "stack.placement.yaml", "services: {api: 0}\nload_balancers:\n  api: {scheme: internal, balancer: 0, priority: 3}\n")
    placement = read_placement(config)
    assert placement.groups == {"api": 0} and placement.seats["api"].priority == 3
    load_config(config)


def test_one_bucket_name_rule_for_the_model_and_deploy() -> None:
    """S3 general purpose bucket naming rules: reserved prefixes and suffixes are refused by --bucket and log_bucket_name alike."""
    for bad in ("logs-s3alias", "sthree-logs", "amzn-s3-demo-x", "my.mrap", "a..b"):
        with pytest.raises(DeployError, match="is not a valid S3 bucket name"):
            check_bucket_name(bad)
        with pytest.raises(ConfigError, match="log_bucket_name"):
            StackConfig(name="demo", environment="dev", log_bucket_name=bad)
    check_bucket_name("stack-cfn-123456789012-us-west-2")


SECRET_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:" + "d" * 63 + "-AbCdEf"  # the longest a database secret is


def resolved(value: object) -> object:
    """A policy as IAM sees it: intrinsic functions replaced by the longest values they take in the test stack."""
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: resolved(v) for k, v in value.items()}
    (fn, arg), = value.items()
    refs = {"AWS::Partition": "aws", "AWS::Region": "us-west-2", "AWS::AccountId": "123456789012"}
    if fn == "Ref":
        return refs.get(arg, "x" * 64)
    if fn == "Fn::Join":
        return arg[0].join(str(resolved(v)) for v in arg[1])
    if fn == "Fn::GetAtt":
        return "arn:aws:logs:us-west-2:123456789012:log-group:/" + "s" * 65 + "/" + "n" * 63 + ":*"
    if fn in ("Fn::If", "Fn::ImportValue"):
        return SECRET_ARN
    return {fn: resolved(arg)}


def test_the_execution_policy_estimate_bounds_the_emitted_policy() -> None:
    """Role policy size: 10,240 characters without white space (IAM and AWS STS quotas); the model's estimate bounds
    the policy IAM receives (intrinsic functions resolved)."""
    import re

    from stack_cfn.model.aws_checks import execution_policy_chars
    from stack_cfn.model.config import ServiceConfig

    for secrets in ({}, {f"S{i}": f"/app/prod/parameter-{i}" for i in range(30)},
                    {f"M{i}": f"arn:aws:secretsmanager:us-west-2:123456789012:secret:app/prod/s{i}-AbCdEf" for i in range(30)}):
        svc = ServiceConfig(name="api", image="nginx", port=80, secrets=secrets, databases=("main",))
        cfg = StackConfig(name="demo", environment="dev", services=(svc,), databases=(DatabaseConfig(name="main"),))
        template = next(json.loads(b) for b in compile_stack(cfg).files.values() if '"ExecutionRole"' in b)
        policy = resolved(template["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"])
        assert len(re.sub(r"\s", "", json.dumps(policy))) <= execution_policy_chars(svc)
    many = {f"S{i}": f"/app/prod/a-rather-long-parameter-name-{i}" for i in range(120)}
    with pytest.raises(ConfigError, match="over the quota 'Role policy size'"):
        StackConfig(name="demo", environment="dev", services=(ServiceConfig(name="api", image="nginx", port=80, secrets=many),))


def test_deploying_to_another_region_checks_that_regions_offerings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--region (or AWS_REGION) other than the description's: that region's offerings decide, before AWS is reached."""
    (tmp_path / "stack.yaml").write_text("name: demo\nenvironment: dev\n", encoding="utf-8")
    assert run(["plan", "--region", "me-south-1", "--endpoint-url", "http://127.0.0.1:9"], tmp_path) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ecs_instance_type: m7i.large is not offered in me-south-1")
