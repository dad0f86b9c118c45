"""`stack-cfn package` and the stack policies, against the local AWS.

- The plain-aws-CLI path of docs/pipeline.md, run verbatim: package a description with service groups, deploy every
  stack of the manifest in its order with `aws cloudformation deploy`, set the stack policies; the services are read
  back through ECS and the policies through GetStackPolicy.
- `stack-cfn deploy` sets the policies on every stack holding a stateful resource, nested ones included.
- `--allow-replace` relaxes them for one deploy and they come back however the deploy ends.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack_cfn.blueprints import stack_policy as sp
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.model.loading import load_config
from stack_cfn.ship import protect
from stack_cfn.ship.placement_file import read_placement
from tests.conftest import AWS_ENV, ROOT, cli_endpoint, moto_gap, run_cli, services_by_name

pytestmark = pytest.mark.e2e
MARKER = "<!-- verbatim-test: plain-aws-cli -->"


def description(name: str, cidr: str) -> dict:
    """Five services, two per stack: the root holds two, two service groups the rest; a database in the root."""
    services = [{"name": f"s{i}", "image": "nginx", "port": 80, "log_retention_on_delete": False} for i in range(1, 3)]
    services += [{"name": f"w{i}", "kind": "worker", "image": "busybox", "log_retention_on_delete": i != 3} for i in range(1, 4)]
    return {"name": name, "environment": "test", "region": "us-east-1", "cidr": cidr, "az_count": 2, "bastion": False,
            "service_group_size": 2, "databases": [{"name": "main", "engine": "postgres"}], "services": services}


def doc_blocks() -> list[str]:
    """The fenced blocks of docs/pipeline.md that follow the verbatim-test marker."""
    text = (ROOT / "docs" / "pipeline.md").read_text()
    return re.findall(re.escape(MARKER) + r"\n```sh\n(.*?)```", text, flags=re.S)


def stack_policy(cfn, stack: str) -> dict:  # noqa: ANN001
    body = cfn.get_stack_policy(StackName=stack).get("StackPolicyBody")
    return json.loads(body) if body else {}


@pytest.fixture(scope="module")
def by_the_aws_cli(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    work = tmp_path_factory.mktemp("plain-cli")
    (work / "stack.yaml").write_text(yaml.safe_dump(description("plain", "10.91.0.0/16")))
    target.client("s3").create_bucket(Bucket="plain-cli-templates")
    env = {**os.environ, **{k: v for k, v in AWS_ENV.items() if v}, "AWS_DEFAULT_REGION": "us-east-1", "BUCKET": "plain-cli-templates",
           "AWS_ENDPOINT_URL": cli_endpoint(local.endpoint_url), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("AWS_PROFILE", None)
    results = [subprocess.run(["bash", "-e", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=600) for block in doc_blocks()]
    return target, work, results


def test_the_docs_hold_the_commands() -> None:
    blocks = doc_blocks()
    assert len(blocks) == 2 and "aws cloudformation deploy" in blocks[0] and "--parameter-overrides \"file://" in blocks[0]
    assert "set-stack-policy" in blocks[1]


def test_every_stack_of_the_manifest_deploys_with_the_plain_aws_cli(by_the_aws_cli) -> None:  # noqa: ANN001
    target, work, results = by_the_aws_cli
    for result in results:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    manifest = json.loads((work / "dist" / "manifest.json").read_text())
    assert manifest["waves"] == [["plain-test"], ["plain-test-services-1", "plain-test-services-2"]]
    cfn = target.client("cloudformation")
    assert {s["name"]: cfn.describe_stacks(StackName=s["name"])["Stacks"][0]["StackStatus"] for s in manifest["stacks"]} == {
        "plain-test": "CREATE_COMPLETE", "plain-test-services-1": "CREATE_COMPLETE", "plain-test-services-2": "CREATE_COMPLETE"}
    group = cfn.describe_stacks(StackName="plain-test-services-1")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in group["Parameters"] if p["ParameterValue"]} == {"RootStackName": "plain-test"}, \
        "its pins (issue 21) empty: the services import"


def test_the_services_run_in_ecs(by_the_aws_cli) -> None:  # noqa: ANN001
    target, _, _ = by_the_aws_cli
    ecs = target.client("ecs")
    arns = ecs.list_services(cluster="plain-test")["serviceArns"]
    assert sorted(services_by_name(ecs, "plain-test")) == ["s1", "s2", "w1", "w2", "w3"]  # CloudFormation names the services
    assert all(s["status"] == "ACTIVE" for s in ecs.describe_services(cluster="plain-test", services=arns)["services"])


def test_the_cli_path_sets_every_stack_policy(by_the_aws_cli) -> None:  # noqa: ANN001
    target, work, _ = by_the_aws_cli
    cfn = target.client("cloudformation")
    manifest = json.loads((work / "dist" / "manifest.json").read_text())
    for entry in manifest["stacks"]:
        assert stack_policy(cfn, entry["name"]) == json.loads((work / "dist" / entry["policy"]).read_text())
        nested = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=entry["name"])["StackResources"]}
        for logical_id, file in entry["nested_policies"].items():
            assert stack_policy(cfn, nested[logical_id]) == json.loads((work / "dist" / file).read_text())
    root = manifest["stacks"][0]
    assert [sorted(e["nested_policies"]) for e in manifest["stacks"]] == [["MainDatabase", "NetworkStack"], ["W1Service", "W2Service"], []], \
        "s1, s2 and w3 keep no logs on delete: nothing of theirs to protect"
    denied = {s["Resource"] for s in json.loads((work / "dist" / root["nested_policies"]["MainDatabase"]).read_text())["Statement"] if s["Effect"] == "Deny"}
    assert denied == {"LogicalResourceId/Database"}


def test_the_codepipeline_example_protect_step_sets_the_nested_policies(by_the_aws_cli, local_aws) -> None:  # noqa: ANN001
    """The ProtectProject buildspec of examples/codepipeline/pipeline.yaml, run as CodeBuild would: in the bundle artifact's directory."""
    local, _ = local_aws
    target, work, _ = by_the_aws_cli
    from tests.test_examples import pipeline

    cfn = target.client("cloudformation")
    manifest = json.loads((work / "dist" / "manifest.json").read_text())
    nested = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName="plain-test")["StackResources"]}
    cfn.set_stack_policy(StackName=nested["MainDatabase"], StackPolicyBody=sp.policy_body(sp.policy([])))
    spec = yaml.safe_load(pipeline()["Resources"]["ProtectProject"]["Properties"]["Source"]["BuildSpec"])
    env = {**os.environ, **{k: v for k, v in AWS_ENV.items() if v}, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": cli_endpoint(local.endpoint_url),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("AWS_PROFILE", None)
    for command in spec["phases"]["build"]["commands"]:
        result = subprocess.run(["bash", "-e", "-c", command], cwd=work / "dist", env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    assert stack_policy(cfn, nested["MainDatabase"]) == json.loads((work / "dist" / manifest["stacks"][0]["nested_policies"]["MainDatabase"]).read_text())


def test_the_bundle_is_byte_identical_across_runs_and_hash_seeds(by_the_aws_cli, local_aws) -> None:  # noqa: ANN001
    local, _ = local_aws
    _, work, _ = by_the_aws_cli
    bundles = []
    for seed in ("1", "2"):
        out = work / f"again-{seed}"
        result = run_cli("package", "-c", str(work / "stack.yaml"), "--bucket", "plain-cli-templates", "-o", str(out),
                         "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env={**AWS_ENV, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr[-2000:]
        assert "uploaded 0," in result.stdout, "unchanged templates are not sent again"
        bundles.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    first = {p.name: p.read_bytes() for p in sorted((work / "dist").iterdir())}
    assert bundles[0] == bundles[1] == first


# ---------------------------------------------------------------- stack-cfn deploy


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("guarded") / "stack.yaml"
    config.write_text(yaml.safe_dump(description("guarded", "10.92.0.0/16")))
    result = run_cli("deploy", "-c", str(config), "--bucket", "guarded-templates", "--create-bucket", "--endpoint-url", local.endpoint_url,
                     "--region", "us-east-1", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return local, target, config


def holders(target, config: Path) -> dict[str, dict]:  # noqa: ANN001
    """Stack id of every deployed stack (top-level and nested) that holds a stateful resource -> the policy it must have."""
    compiled = compile_stack(load_config(config), recorded=read_placement(config))
    cfn = target.client("cloudformation")
    wanted = {}
    for top in compiled.stacks:
        documents = sp.policies(compiled.files, top)
        for path, physical in protect._physical_ids(cfn, compiled.stack_name(top, "guarded-test"), documents).items():
            wanted[physical] = documents[path]
    return wanted


def test_deploy_sets_the_policy_of_every_stack_holding_state(deployed) -> None:  # noqa: ANN001
    _, target, config = deployed
    cfn = target.client("cloudformation")
    wanted = holders(target, config)
    names = {cfn.describe_stacks(StackName=s)["Stacks"][0]["StackName"] for s in wanted}
    assert {"guarded-test", "guarded-test-services-1", "guarded-test-services-2"} <= names
    assert any("MainDatabase" in n for n in names) and any("NetworkStack" in n for n in names)
    assert not any("W3Service" in n for n in names), "w3 keeps no logs on delete: nothing of it to protect"
    for stack, policy in wanted.items():
        assert stack_policy(cfn, stack) == policy, stack
    database = next(s for s in wanted if "MainDatabase" in cfn.describe_stacks(StackName=s)["Stacks"][0]["StackName"])
    assert {"Action": ["Update:Replace", "Update:Delete"], "Effect": "Deny", "Principal": "*",
            "Resource": "LogicalResourceId/Database"} in stack_policy(cfn, database)["Statement"]


def test_allow_replace_lifts_the_guard_for_one_deploy_and_restores_it_on_interrupt(deployed) -> None:  # noqa: ANN001
    """Relax, execute, restore: the deploy is interrupted (Ctrl-C) while the policy is relaxed; the full policy comes back."""
    local, target, config = deployed
    from stack_cfn.ship.report import Reporter

    cfn = target.client("cloudformation")
    cfg = load_config(config)
    compiled = compile_stack(cfg, recorded=read_placement(config))
    database = next(s for s in holders(target, config) if "MainDatabase" in cfn.describe_stacks(StackName=s)["Stacks"][0]["StackName"])
    seen = {}

    @protect.guarded
    def fake_deploy(allow_replace: list[str], out) -> int:  # noqa: ANN001
        protect.guard_deploy(allow_replace, out, target, compiled, cfg, "guarded-test")
        seen["during"] = stack_policy(cfn, database)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fake_deploy(["main"], Reporter())
    assert [s for s in seen["during"]["Statement"] if s["Effect"] == "Deny"] == []
    assert {"Effect": "Deny", "Resource": "LogicalResourceId/Database"}.items() <= next(
        s for s in stack_policy(cfn, database)["Statement"] if s["Effect"] == "Deny").items()


def test_allow_replace_of_an_unknown_name_is_one_line_and_sends_nothing(deployed) -> None:  # noqa: ANN001
    local, _, config = deployed
    result = run_cli("deploy", "-c", str(config), "--bucket", "guarded-templates", "--allow-replace", "nosuch", "--endpoint-url", local.endpoint_url,
                     "--region", "us-east-1", env=AWS_ENV)
    assert result.returncode == 1 and "--allow-replace: nosuch is not protected by the stack policies in force" in result.stderr
    assert "uploading" not in result.stderr


def edited(config: Path, **changes: object) -> Path:
    doc = yaml.safe_load(config.read_text())
    doc.update(changes)
    out = config.with_name(f"edited-{len(list(config.parent.glob('edited-*')))}.yaml")
    out.write_text(yaml.safe_dump(doc))
    (config.with_suffix(".placement.yaml")).exists() and out.with_suffix(".placement.yaml").write_text(config.with_suffix(".placement.yaml").read_text())
    return out


def plan(local, config: Path):  # noqa: ANN001, ANN201
    return run_cli("plan", "-c", str(config), "--bucket", "guarded-templates", "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env=AWS_ENV)


def test_plan_names_the_policy_that_blocks_removing_a_database(deployed) -> None:  # noqa: ANN001
    local, _, config = deployed
    result = plan(local, edited(config, databases=[]))
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("!! guarded-test: MainDatabase (AWS::CloudFormation::Stack) would be removed: the stack policy denies Update:Delete; "
            "the deploy would fail and roll back. If that is wanted: stack-cfn deploy --allow-replace MainDatabase") in " ".join(result.stderr.split())


@moto_gap("moto's change sets do not describe the changes inside nested stacks (IncludeNestedStacks), so a database replaced "
          "inside its nested stack shows only as a modified nested stack")
def test_plan_names_the_policy_that_blocks_replacing_a_database(deployed) -> None:  # noqa: ANN001
    """RDS DBInstance: DBName "Update requires: Replacement" (CloudFormation Template Reference, AWS::RDS::DBInstance)."""
    local, _, config = deployed
    result = plan(local, edited(config, databases=[{"name": "main", "engine": "postgres", "database": "renamed"}]))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MainDatabase/Database (AWS::RDS::DBInstance) would be replaced: MainDatabase's stack policy denies Update:Replace" in " ".join(result.stderr.split())


@moto_gap("CloudFormation's ExecuteChangeSet/UpdateStack do not evaluate stack policies: a denied Update:Delete goes through")
def test_a_denied_removal_is_refused_by_cloudformation(local_aws) -> None:  # noqa: ANN001
    """"Prevent updates to stack resources" (CloudFormation User Guide): an update that would do a denied action fails and rolls back."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    keep = {"Resources": {"Kept": {"Type": "AWS::S3::Bucket"}, "Other": {"Type": "AWS::SNS::Topic"}}}
    cfn.create_stack(StackName="policy-refusal", TemplateBody=json.dumps(keep))
    cfn.set_stack_policy(StackName="policy-refusal", StackPolicyBody=sp.policy_body(sp.policy(["Kept"])))
    cfn.update_stack(StackName="policy-refusal", TemplateBody=json.dumps({"Resources": {"Other": {"Type": "AWS::SNS::Topic"}}}))
    status = cfn.describe_stacks(StackName="policy-refusal")["Stacks"][0]["StackStatus"]
    for _ in range(30):
        if not status.endswith("IN_PROGRESS"):
            break
        status = cfn.describe_stacks(StackName="policy-refusal")["Stacks"][0]["StackStatus"]
    assert status == "UPDATE_ROLLBACK_COMPLETE"


def test_allow_replace_removes_a_database_once_and_the_policies_follow_the_new_stack(deployed) -> None:  # noqa: ANN001
    """Last in this module: it removes the database of the shared deploy."""
    local, target, config = deployed
    result = run_cli("deploy", "-c", str(edited(config, databases=[])), "--bucket", "guarded-templates", "--allow-replace", "main",
                     "--endpoint-url", local.endpoint_url, "--region", "us-east-1", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    said = " ".join(result.stderr.split())
    assert "--allow-replace: the stack policies let this deploy replace or remove main" in said and "set back" in said
    denied = {s["Resource"] for s in stack_policy(target.client("cloudformation"), "guarded-test")["Statement"] if s["Effect"] == "Deny"}
    assert denied == {"LogicalResourceId/NetworkStack"}, "the new root's policy: the database is gone, the network still protected"


@moto_gap("CloudFormation's ExecuteChangeSet does not evaluate stack policies: the database's nested stack is deleted despite the root's "
          "Deny of Update:Delete on it")
def test_deploy_removing_a_protected_database_without_allow_replace_fails(local_aws, tmp_path: Path) -> None:  # noqa: ANN001
    """"Prevent updates to stack resources" (CloudFormation User Guide): an update that would do a denied action fails and rolls back."""
    local, _ = local_aws
    config = tmp_path / "stack.yaml"
    config.write_text(yaml.safe_dump({**description("refused", "10.93.0.0/16"), "services": []}))
    flags = ("--bucket", "refused-templates", "--create-bucket", "--endpoint-url", local.endpoint_url, "--region", "us-east-1")
    first = run_cli("deploy", "-c", str(config), *flags, env=AWS_ENV)
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_cli("deploy", "-c", str(edited(config, databases=[])), *flags, env=AWS_ENV)
    assert second.returncode == 1 and "UPDATE_ROLLBACK_COMPLETE" in second.stderr
