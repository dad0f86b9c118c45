"""The pipeline examples: the GitHub Actions workflow runs real stack-cfn commands at the right events, the
CodePipeline template is cfn-lint clean, deploys the bundle's files in the manifest's order, and deploys on the
local AWS where moto models its resources."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.cli import build_parser
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.ship import package
from tests.conftest import ROOT, moto_gap

WORKFLOW = ROOT / "examples" / "github-actions" / "deploy.yml"
PIPELINE = ROOT / "examples" / "codepipeline" / "pipeline.yaml"


def workflow() -> dict:
    doc = yaml.safe_load(WORKFLOW.read_text())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true
    return doc


def stack_cfn_commands(script: str) -> list[list[str]]:
    """The stack-cfn command lines of a shell script, with GitHub expressions and shell variables given plain values."""
    script = re.sub(r"\$\{\{[^}]*\}\}", "templates-bucket", script)
    script = re.sub(r"\$\{?[A-Z_]+(#v)?\}?", "value", script)
    found = []
    for line in script.splitlines():
        line = line.strip().lstrip("- ").split("|")[0]
        if line.startswith("stack-cfn "):
            found.append(shlex.split(line)[1:])
    return found


def parses(argv: list[str]) -> str:
    """The subcommand, after the real parser took every flag (a wrong flag exits 2)."""
    args = build_parser().parse_args(argv)
    return args.func.__name__.removeprefix("cmd_")


def job_commands(job: dict) -> list[str]:
    return [parses(argv) for step in job["steps"] if "run" in step for argv in stack_cfn_commands(step["run"])]


def test_the_workflow_builds_everywhere_plans_pull_requests_deploys_main_and_releases_tags() -> None:
    doc = workflow()
    assert set(doc["on"]) == {"pull_request", "push"}
    assert doc["on"]["push"]["branches"] == ["main"] and doc["on"]["push"]["tags"] == ["v*"]
    jobs = doc["jobs"]
    assert {name: job_commands(job) for name, job in jobs.items()} == {
        "build": ["build"], "plan": ["plan"], "deploy": ["package", "deploy"], "release": ["release"]}
    assert "if" not in jobs["build"]
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert "refs/heads/main" in jobs["deploy"]["if"] and "refs/tags/v" in jobs["release"]["if"]
    assert all(jobs[name]["needs"] == "build" for name in ("plan", "deploy", "release"))
    assert doc["permissions"]["id-token"] == "write", "OIDC credentials, no stored keys"


def test_a_wrong_flag_in_a_workflow_command_is_caught() -> None:
    with pytest.raises(SystemExit):
        parses(stack_cfn_commands("stack-cfn deploy --no-such-flag")[0])


def bundle_of_three() -> dict[str, str]:
    """A bundle of a description with two service groups, without AWS (URLs made up)."""
    cfg = StackConfig(name="pipe", environment="test", bastion=False, service_group_size=1,
                      services=tuple(ServiceConfig(name=f"w{i}", kind="worker", image="busybox") for i in range(3)))
    compiled = compile_stack(cfg)
    urls = {top: f"https://b.s3.us-east-1.amazonaws.com/stack-cfn/{top}" for top in compiled.stacks}
    return package.bundle(compiled, dict(compiled.files), urls, "pipe-test", {"region": "us-east-1", "bucket": "b", "prefix": "stack-cfn"})


def pipeline() -> dict:
    from cfnlint.decode import decode_str

    template, problems = decode_str(PIPELINE.read_text())
    assert not problems
    return template


def deploy_actions() -> list[dict]:
    stage = next(s for s in pipeline()["Resources"]["Pipeline"]["Properties"]["Stages"] if s["Name"] == "Deploy")
    return [a["Fn::If"][1] if "Fn::If" in a else a for a in stage["Actions"]]


def test_the_pipeline_deploys_the_manifest_stacks_in_order_with_their_configuration_files() -> None:
    manifest = json.loads(bundle_of_three()["manifest.json"])
    actions = deploy_actions()
    assert [a["Configuration"]["TemplatePath"] for a in actions] == [f"Bundle::{s['template']}" for s in manifest["stacks"]]
    assert [a["Configuration"]["TemplateConfiguration"] for a in actions] == [f"Bundle::{s['configuration']}" for s in manifest["stacks"]]
    assert [a["RunOrder"] for a in actions] == [s["wave"] for s in manifest["stacks"]]
    for action, entry in zip(actions, manifest["stacks"], strict=True):
        assert set(entry["capabilities"]) <= set(action["Configuration"]["Capabilities"].split(","))


def test_the_pipeline_builds_with_a_real_package_command_and_protects_nested_stacks() -> None:
    resources = pipeline()["Resources"]
    spec = yaml.safe_load(resources["PackageProject"]["Properties"]["Source"]["BuildSpec"])
    commands = [argv for line in spec["phases"]["build"]["commands"] for argv in stack_cfn_commands(line)]
    assert [parses(argv) for argv in commands] == ["package"] and commands[0][commands[0].index("-o") + 1] == spec["artifacts"]["base-directory"]
    protect = resources["ProtectProject"]["Properties"]["Source"]["BuildSpec"]
    assert "nested_policies" in protect and "aws cloudformation set-stack-policy" in protect


def test_the_pipeline_template_is_cfn_lint_clean() -> None:
    from cfnlint.api import ManualArgs, lint

    assert [str(m) for m in lint(PIPELINE.read_text(), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))] == []


PARAMETERS = [{"ParameterKey": "ConnectionArn", "ParameterValue": "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc"},
              {"ParameterKey": "FullRepositoryId", "ParameterValue": "acme/shop"}, {"ParameterKey": "StackName", "ParameterValue": "shop-prod"},
              {"ParameterKey": "ServiceGroups", "ParameterValue": "2"}]


@pytest.fixture(scope="module")
def pipeline_stack(local_aws):  # noqa: ANN001, ANN201
    _, target = local_aws
    cfn = target.client("cloudformation")
    cfn.create_stack(StackName="example-pipeline", TemplateBody=PIPELINE.read_text(), Parameters=PARAMETERS, Capabilities=["CAPABILITY_IAM"])
    return target, cfn.describe_stacks(StackName="example-pipeline")["Stacks"][0]


@pytest.mark.e2e
def test_the_pipeline_template_deploys_on_the_local_aws(pipeline_stack) -> None:  # noqa: ANN001
    target, stack = pipeline_stack
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert target.client("s3").head_bucket(Bucket=outputs["TemplateBucket"])
    roles = {r["LogicalResourceId"] for r in target.client("cloudformation").describe_stack_resources(StackName="example-pipeline")["StackResources"]
             if r.get("ResourceType") == "AWS::IAM::Role"}
    assert roles == {"BuildRole", "DeployRole", "PipelineRole"}


@pytest.mark.e2e
@moto_gap("moto's CloudFormation does not create AWS::CodePipeline::Pipeline (no CloudFormation model for it)")
def test_the_pipeline_exists_in_codepipeline(pipeline_stack) -> None:  # noqa: ANN001
    target, _ = pipeline_stack
    assert target.client("codepipeline").list_pipelines()["pipelines"]


@pytest.mark.e2e
@moto_gap("moto's CloudFormation does not create AWS::CodeBuild::Project (no CloudFormation model for it)")
def test_the_build_projects_exist_in_codebuild(pipeline_stack) -> None:  # noqa: ANN001
    target, _ = pipeline_stack
    assert len(target.client("codebuild").list_projects()["projects"]) == 2


def test_examples_exist_where_the_docs_say() -> None:
    text = (ROOT / "docs" / "pipeline.md").read_text()
    for link in re.findall(r"\]\(\.\./(examples/[^)]+)\)", text):
        assert Path(ROOT / link).is_file(), link
