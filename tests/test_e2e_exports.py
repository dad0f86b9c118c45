"""Export safety on the local AWS (issue 21, item 6): a root change that replaces what its service group imports runs
in two phases (the group pinned, the root, the group importing again); a plain deploy after an interrupted first phase
converges; a stack not ours that imports the export still refuses the deploy."""

from __future__ import annotations

import json

import pytest
import yaml

from stack_cfn.blueprints.group import ServiceGroup
from stack_cfn.ship.deploy import FINGERPRINT_TAG
from tests.conftest import all_exports, local_cli

pytestmark = pytest.mark.e2e
ROOT, GROUP = "exg-test", "exg-test-services-1"
PIN = ServiceGroup.Pinned.keyed("Cluster").name


def write(config, cluster: str, database: bool = False) -> None:  # noqa: ANN001
    """Services one (in the root) and two (in the group); with `database`, a database `main` that service two uses."""
    uses = {"two": {"databases": ["main"]}} if database else {}
    config.write_text(yaml.safe_dump({
        "name": "exg", "environment": "test", "region": "us-east-1", "cidr": "10.87.0.0/16", "bastion": False, "service_group_size": 1,
        "ecs_cluster_name": cluster, **({"databases": [{"name": "main"}]} if database else {}),
        "services": [{"name": n, "image": "nginx", "port": 80, "log_retention_on_delete": False, **uses.get(n, {})} for n in ("one", "two")]}))


def deploy(local, config, *more: str):  # noqa: ANN001, ANN201
    return local_cli(local, "deploy", "-c", str(config), *more, bucket="exg-templates")


def group_imports(cfn) -> tuple[str, bool, set[str]]:  # noqa: ANN001
    """The group's pin of the cluster, whether its service template still imports, and what the local AWS says it imports."""
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in cfn.describe_stacks(StackName=GROUP)["Stacks"][0]["Parameters"]}
    nested = [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=GROUP)["StackResources"]
              if r["ResourceType"] == "AWS::CloudFormation::Stack"]
    body = cfn.get_template(StackName=nested[0])["TemplateBody"]
    template = body if isinstance(body, str) else json.dumps(body)
    try:
        importers = set(cfn.list_imports(ExportName=f"{ROOT}-Cluster")["Imports"])
    except cfn.exceptions.ClientError:
        importers = set()
    return params.get(PIN, "<none>"), "Fn::ImportValue" in template, importers


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = tmp_path_factory.mktemp("exports") / "stack.yaml"
    write(config, "exg-first")
    first = deploy(local, config, "--create-bucket")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    return local, target, config


def test_a_replaced_cluster_deploys_in_two_phases_and_the_group_imports_again(deployed) -> None:  # noqa: ANN001
    local, target, config = deployed
    cfn = target.client("cloudformation")
    assert group_imports(cfn)[0] == "" and group_imports(cfn)[2], "deployed: the group imports the root's cluster"
    write(config, "exg-second")
    plan = local_cli(local, "plan", "-c", str(config), bucket="exg-templates")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert f"deploy will take two phases: {ROOT} changes export(s) its service groups import ({ROOT}-Cluster (replaced)" in plan.stderr + plan.stdout
    result = deploy(local, config)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    said = result.stdout + result.stderr
    assert f"the deploy takes two phases: {ROOT} changes export(s)" in said
    first, root = said.index(f"waiting for {GROUP}"), said.index(f"waiting for {ROOT},")
    assert first < root < said.index(f"waiting for {GROUP}", root), "the group, the root, the group again"
    exports = all_exports(cfn)
    assert exports[f"{ROOT}-Cluster"] == "exg-second"
    pin, imports, importers = group_imports(cfn)
    assert (pin, imports) == ("", True) and importers, "the group imports again, its pin empty"


def test_a_deploy_after_an_interrupted_first_phase_converges(deployed) -> None:  # noqa: ANN001
    """Phase 1 done (the group pinned by hand, as a first phase leaves it), the root not: a plain deploy goes on."""
    local, target, config = deployed
    cfn = target.client("cloudformation")
    params = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in cfn.describe_stacks(StackName=GROUP)["Stacks"][0]["Parameters"]
              if p["ParameterKey"] != PIN]
    # what a first phase leaves: the group pinned by a change set of ours (its fingerprint tag names that phase)
    cs = cfn.create_change_set(StackName=GROUP, ChangeSetName="phase-1", ChangeSetType="UPDATE", UsePreviousTemplate=True,
                               Parameters=[*params, {"ParameterKey": PIN, "ParameterValue": "exg-second"}],
                               Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"], Tags=[{"Key": FINGERPRINT_TAG, "Value": "phase-1"}])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=cs["Id"])
    cfn.execute_change_set(ChangeSetName=cs["Id"])
    assert group_imports(cfn)[2] == set(), "pinned: the group imports nothing"
    write(config, "exg-third")
    result = deploy(local, config)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "two phases" not in result.stdout + result.stderr, "nothing of ours imports the export any more"
    pin, imports, importers = group_imports(cfn)
    assert (pin, imports) == ("", True) and importers


def test_a_foreign_importer_still_refuses(deployed) -> None:  # noqa: ANN001
    local, target, config = deployed
    cfn = target.client("cloudformation")
    cfn.create_stack(StackName="exg-dropin", TemplateBody=json.dumps({"Resources": {"Topic": {
        "Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": f"{ROOT}-Cluster"}}}}}))
    try:
        write(config, "exg-fourth")
        result = deploy(local, config)
        assert result.returncode != 0
        assert f"nothing was deployed: export {ROOT}-Cluster" in result.stderr and "exg-dropin import" in result.stderr, result.stderr[-2000:]
        assert all_exports(cfn)[f"{ROOT}-Cluster"] == "exg-third"
    finally:
        cfn.delete_stack(StackName="exg-dropin")


def importers_of(cfn, export: str) -> list[str]:  # noqa: ANN001
    try:
        return list(cfn.list_imports(ExportName=export)["Imports"])
    except cfn.exceptions.ClientError:  # "... is not imported by any stack"
        return []


def test_a_first_phase_runs_on_the_deployed_group_template(deployed) -> None:  # noqa: ANN001
    """The root replaces the cluster and adds a database that service two (in the group) newly imports. Phase 1 pins the group
    on its deployed template (the database's exports do not exist yet: its new template could not deploy then); the
    root adds them; phase 2 deploys the new template, importing the cluster and the database."""
    local, target, config = deployed
    cfn = target.client("cloudformation")
    write(config, "exg-fifth", database=True)
    result = deploy(local, config)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "two phases" in result.stdout + result.stderr
    assert all_exports(cfn)[f"{ROOT}-Cluster"] == "exg-fifth"
    database = sorted(name for name in all_exports(cfn) if name.startswith(f"{ROOT}-main-"))
    imported = [name for name in database if any(s.startswith(GROUP) for s in importers_of(cfn, name))]  # its nested service stack
    assert imported, f"phase 2: the group imports the new database ({database})"
    pin, imports, importers = group_imports(cfn)
    assert (pin, imports) == ("", True) and importers


EXPORTER = {"Parameters": {"Value": {"Type": "String"}}, "Resources": {"Handle": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Out": {"Value": {"Ref": "Value"}, "Export": {"Name": "exg-shim-Out"}}}}


def importer(pinned: str) -> str:
    """A stack importing exg-shim-Out unless its Pin parameter is set (as a group's service does)."""
    return json.dumps({"Parameters": {"Pin": {"Type": "String", "Default": pinned}},
                       "Conditions": {"Import": {"Fn::Equals": [{"Ref": "Pin"}, ""]}},
                       "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::If": [
                           "Import", {"Fn::ImportValue": "exg-shim-Out"}, {"Ref": "Pin"}]}}}}})


def change_exporter(cfn, value: str) -> str:  # noqa: ANN001
    cs = cfn.create_change_set(StackName="exg-shim", ChangeSetName=f"to-{value}", ChangeSetType="UPDATE", TemplateBody=json.dumps(EXPORTER),
                               Parameters=[{"ParameterKey": "Value", "ParameterValue": value}])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=cs["Id"])
    cfn.execute_change_set(ChangeSetName=cs["Id"])
    return cfn.describe_stacks(StackName="exg-shim")["Stacks"][0]["StackStatus"]


def test_the_local_aws_refuses_changing_an_export_in_use(local_aws) -> None:  # noqa: ANN001
    """AWS rule (CloudFormation User Guide, Exporting stack output values: "You can't modify or remove an output value
    that is referenced by another stack"): the update fails and rolls back. ListImports counts an import in the branch of
    Fn::If the importer's conditions take: pinned, it imports nothing and the update goes through."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    cfn.create_stack(StackName="exg-shim", TemplateBody=json.dumps(EXPORTER), Parameters=[{"ParameterKey": "Value", "ParameterValue": "one"}])
    cfn.create_stack(StackName="exg-shim-user", TemplateBody=importer(""))
    try:
        assert cfn.list_imports(ExportName="exg-shim-Out")["Imports"] == ["exg-shim-user"]
        assert change_exporter(cfn, "two") == "UPDATE_ROLLBACK_COMPLETE"
        reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="exg-shim")["StackEvents"]]
        assert any("Cannot update export exg-shim-Out as it is in use by exg-shim-user" in r for r in reasons)
        assert all_exports(cfn)["exg-shim-Out"] == "one"
        cfn.update_stack(StackName="exg-shim-user", TemplateBody=importer("one"))
        with pytest.raises(cfn.exceptions.ClientError, match="not imported"):
            cfn.list_imports(ExportName="exg-shim-Out")
        assert change_exporter(cfn, "three") == "UPDATE_COMPLETE"
    finally:
        cfn.delete_stack(StackName="exg-shim-user")
        cfn.delete_stack(StackName="exg-shim")
