"""Export safety without AWS: which deployed exports a deploy would remove or redefine, the refusal line, and that
plain moto still lacks ListImports (the local AWS answers it: ship/strict_local.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from stack_cfn.ship import exports_guard
from stack_cfn.ship.exports_guard import ExportChange, Exported


def last_line(probe: str) -> str:
    """Run a plain-moto probe (no local AWS shims) in its own interpreter; its last printed line."""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


ROOT = {"Resources": {"NetworkStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "network.json"}}},
        "Outputs": {"Environment": {"Value": {"Ref": "Environment"}, "Export": {"Name": "x-Environment"}}}}
NETWORK = {"Resources": {}, "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}, "Export": {"Name": "x-VpcId"}},
                                        "Cidr": {"Value": {"Fn::GetAtt": ["Vpc", "CidrBlock"]}}}}


def test_new_outputs_follow_nested_template_urls() -> None:
    files = {"stack.json": json.dumps(ROOT), "network.json": json.dumps(NETWORK)}
    new = exports_guard.new_outputs(exports_guard.new_trees(files), {"app-prod": "stack.json"})
    assert sorted(new) == ["app-prod", "app-prod/NetworkStack"]
    assert new["app-prod/NetworkStack"]["VpcId"]["Value"] == {"Ref": "Vpc"}


def test_an_export_counts_as_changed_when_removed_unexported_or_redefined() -> None:
    """AWS rule (CloudFormation User Guide, Exporting stack output values): an imported output can be neither
    modified nor removed. Its value after the deploy is unknown before it, so its definition is compared."""
    new = exports_guard.new_outputs(exports_guard.new_trees({"stack.json": json.dumps(ROOT), "network.json": json.dumps(NETWORK)}), {"app-prod": "stack.json"})
    deployed = [Exported("app-prod", "Environment", "x-Environment", {"Ref": "Environment"}),  # same
                Exported("app-prod/NetworkStack", "VpcId", "x-VpcId", {"Ref": "OldVpc"}),  # redefined
                Exported("app-prod/NetworkStack", "Cidr", "x-Cidr", {"Fn::GetAtt": ["Vpc", "CidrBlock"]}),  # export dropped
                Exported("app-prod/BastionStack", "BastionIp", "x-BastionIp", {"Ref": "Eip"}),  # nested stack gone
                Exported("app-prod-services-1", "Url", "x-Url", "u")]  # a top-level stack not described: left alone
    assert exports_guard.changes(deployed, new) == [ExportChange("x-VpcId", "app-prod/NetworkStack", "VpcId", "redefined"),
                                                    ExportChange("x-Cidr", "app-prod/NetworkStack", "Cidr", "removed"),
                                                    ExportChange("x-BastionIp", "app-prod/BastionStack", "BastionIp", "removed")]


def test_the_refusal_is_one_line_with_the_two_phase_fix() -> None:
    line = exports_guard.refusal(ExportChange("x-VpcId", "app-prod/NetworkStack", "VpcId", "redefined"), ["dropin", "other"])
    assert line == ("export x-VpcId (app-prod/NetworkStack output VpcId) would be redefined but dropin, other import it: "
                    "first deploy dropin, other without the import, then this change")
    assert "\n" not in line


PROBE = textwrap.dedent('''
    import boto3
    from moto import mock_aws
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        try:
            cfn.list_imports(ExportName="x")
            print("WORKS")
        except NotImplementedError as exc:
            print("GAP", exc)
        except Exception as exc:
            print("WORKS" if "not imported" in str(exc) else "GAP " + str(exc)[:100])
''')


def test_moto_still_lacks_list_imports() -> None:
    assert last_line(PROBE).startswith("GAP"), "moto now answers ListImports: remove strict_local._list_imports"


# ---------------------------------------------------------------- values that change under the same expression (issue 21, item 6)

from stack_cfn.model.changes import Tree  # noqa: E402
from stack_cfn.ship.exports_guard import ExportPlan, Importers, Side  # noqa: E402

EXPORTED = {"Export": {"Name": "x"}}


def cluster_tree(name_param: object, output_value: object = None) -> Tree:
    """A root passing ClusterStack a name; the cluster exports Ref Cluster, ClusterArn, and its name parameter."""
    child = {"Parameters": {"EcsClusterName": {"Type": "String"}},
             "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": {"Ref": "EcsClusterName"}}}},
             "Outputs": {"Cluster": {"Value": output_value or {"Ref": "Cluster"}, **EXPORTED},
                         "Arn": {"Value": {"Fn::GetAtt": ["Cluster", "Arn"]}, **EXPORTED},
                         "Named": {"Value": {"Ref": "EcsClusterName"}, **EXPORTED}}}
    root = {"Parameters": {"Name": {"Type": "String", "Default": "n"}},
            "Resources": {"ClusterStack": {"Type": "AWS::CloudFormation::Stack",
                                           "Properties": {"TemplateURL": "cluster.json", "Parameters": {"EcsClusterName": name_param}}}},
            "Outputs": {"Environment": {"Value": {"Ref": "Name"}, **EXPORTED},
                        "Cluster": {"Value": {"Fn::GetAtt": ["ClusterStack", "Outputs.Cluster"]}, **EXPORTED}}}
    return Tree("stack.json", root, {"ClusterStack": Tree("cluster.json", child)})


def moves(old: Tree, new: Tree, replaced: dict[str, set[str]] | None = None, old_given=None, new_given=None) -> dict:  # noqa: ANN001
    return exports_guard.value_moves(Side(exports_guard.flatten("app", old), {"app": old_given or {}}),
                                     Side(exports_guard.flatten("app", new), {"app": new_given or {}}), replaced or {})


def test_an_unchanged_expression_of_a_replaced_resource_counts_as_changed() -> None:
    """AWS rule (AWS::ECS::Cluster reference: ClusterName "Update requires: Replacement"): a replaced resource has a new
    physical id and attributes, so an export reading it (Ref, Fn::GetAtt) changes though its expression does not."""
    old, new = cluster_tree("a"), cluster_tree("b")
    found = moves(old, new, {"app/ClusterStack": {"Cluster"}})
    assert found[("app/ClusterStack", "Cluster")] == "replaced" and found[("app/ClusterStack", "Arn")] == "replaced"
    assert found[("app/ClusterStack", "Named")] == "its input changed", "a nested parameter whose expression in the parent changed"
    assert found[("app", "Cluster")] == "its input changed", "the root's GetAtt of a nested output that changes"
    assert ("app", "Environment") not in found


def test_nothing_moves_when_nothing_the_value_reads_changes() -> None:
    assert moves(cluster_tree("a"), cluster_tree("a")) == {}
    assert moves(cluster_tree({"Ref": "Name"}), cluster_tree({"Ref": "Name"}), old_given={"Name": "x"}, new_given={"Name": "x"}) == {}


def test_a_top_level_parameter_given_another_value_moves_what_reads_it() -> None:
    found = moves(cluster_tree({"Ref": "Name"}), cluster_tree({"Ref": "Name"}), old_given={"Name": "x"}, new_given={})
    assert found[("app", "Environment")] == "its input changed", "not passed: the Default n, not the deployed x"
    assert found[("app/ClusterStack", "Named")] == "its input changed", "through the parent's Ref of that parameter"


def test_replacement_is_read_from_the_offline_comparison() -> None:
    """The same decision `diff` and `plan` make: AWS::ECS::Cluster's ClusterName is create-only in its schema."""
    from stack_cfn.model.changes import compare
    from stack_cfn.ship.schemas import SchemaRules

    found = compare({"stack.json": cluster_tree("a")}, {"stack.json": cluster_tree("b")}, SchemaRules())
    replaced = exports_guard.replaced_by_path(found, {"stack.json": "app"})
    assert {path: ids for path, ids in replaced.items() if ids} == {"app/ClusterStack": {"Cluster"}}


def test_changes_counts_moved_values_with_how() -> None:
    new = {"app/ClusterStack": {"Cluster": {"Value": {"Ref": "Cluster"}, **EXPORTED}}}
    deployed = [Exported("app/ClusterStack", "Cluster", "app-Cluster", {"Ref": "Cluster"})]
    assert exports_guard.changes(deployed, new) == []
    assert exports_guard.changes(deployed, new, {("app/ClusterStack", "Cluster"): "replaced"}) == [
        ExportChange("app-Cluster", "app/ClusterStack", "Cluster", "replaced")]


# ---------------------------------------------------------------- the phases


def group_files(root: str = "app") -> dict[str, str]:
    """A group as the compiler makes it: one service importing <root>-Cluster unless its pin is set."""
    service = {"Parameters": {"StackName": {"Type": "String"}, "Cluster": {"Type": "String", "Default": ""}},
               "Conditions": {"ImportCluster": {"Fn::Equals": [{"Ref": "Cluster"}, ""]}},
               "Resources": {"Service": {"Type": "AWS::ECS::Service", "Properties": {"Cluster": {"Fn::If": [
                   "ImportCluster", {"Fn::ImportValue": {"Fn::Join": ["-", [{"Ref": "StackName"}, "Cluster"]]}}, {"Ref": "Cluster"}]}}}}}
    group = {"Parameters": {"RootStackName": {"Type": "String", "Default": root}, "PinnedCluster": {"Type": "String", "Default": ""}},
             "Resources": {"OneService": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                 "TemplateURL": "service.json", "Parameters": {"StackName": {"Ref": "RootStackName"}, "Cluster": {"Ref": "PinnedCluster"}}}}}}
    return {"services-1.json": json.dumps(group), "service.json": json.dumps(service)}


def test_a_pinned_group_imports_nothing() -> None:
    files = group_files()
    assert exports_guard.imports_of(files, "services-1.json", {"RootStackName": "app"}) == {"app-Cluster"}
    assert exports_guard.imports_of(files, "services-1.json", {"RootStackName": "app", "PinnedCluster": "c-1"}) == set()


CLUSTER = ExportChange("app-Cluster", "app/ClusterStack", "Cluster", "replaced")


def phases(importing: list[str], how: str = "replaced", stale: frozenset[str] = frozenset()) -> ExportPlan:
    change = ExportChange("app-Cluster", "app/ClusterStack", "Cluster", how)
    who = Importers({"app-Cluster": importing}, "app", {"app-services-1": "services-1.json"}, stale)
    return exports_guard.plan_phases([change], who, {"app-Cluster": "c-1"}, {"app-services-1": {"app-Cluster"}})


def test_our_group_importing_a_changed_export_is_pinned_to_its_current_value_first() -> None:
    plan = phases(["app-services-1"])
    assert plan.refused == () and plan.two_phases and plan.first == {"app-services-1": {"PinnedCluster": "c-1"}}
    line = plan.describe("app")
    assert line == ("two phases: app changes export(s) its service groups import (app-Cluster (replaced)): first app-services-1 stop "
                    "importing them (pinned to their current values), then app, then the groups import again") and "\n" not in line


def test_an_export_whose_value_cannot_be_read_is_not_pinned_to_nothing() -> None:
    """An empty pin imports: a value ListExports does not give would leave the group importing, so it refuses."""
    who = Importers({"app-Cluster": ["app-services-1"]}, "app", {"app-services-1": "services-1.json"})
    plan = exports_guard.plan_phases([CLUSTER], who, {}, {"app-services-1": {"app-Cluster"}})
    assert not plan.two_phases and plan.refused[0].startswith("export app-Cluster: its current value could not be read")


def test_a_foreign_importer_refuses_and_a_stale_group_does_not_count() -> None:
    assert phases(["dropin", "app-services-1"]).refused == (exports_guard.refusal(CLUSTER, ["dropin"]),)
    assert not phases(["dropin", "app-services-1"]).two_phases
    assert phases(["app-services-2"], stale=frozenset({"app-services-2"})) == ExportPlan(), "deleted before the root: its imports do not block"
    assert phases([]) == ExportPlan()


def test_removing_an_export_a_new_group_template_imports_is_refused() -> None:
    """It cannot happen with templates the compiler makes (the group's wiring and the root's exports come from the same
    contract rows: tests/test_placement.py), but a removed export a group still needs could never be deployed."""
    plan = phases(["app-services-1"], how="removed")
    assert plan.refused == ("export app-Cluster (app/ClusterStack output Cluster) would be removed but the new template of app-services-1 "
                            "still imports it: keep the output exported, or remove the import first",)


def test_every_export_a_compiled_group_imports_is_exported_by_its_root() -> None:
    """Why refusal_removed never fires for compiled stacks: the root exports each output the groups import."""
    from stack_cfn.blueprints.compiler import compile_stack
    from stack_cfn.model.config import ServiceConfig, StackConfig

    cfg = StackConfig(name="g", environment="t", key_name="k", service_group_size=1,
                      services=(ServiceConfig(name="a", image="i", port=80), ServiceConfig(name="b", image="i", port=80, kind="web-service", https=False),
                                ServiceConfig(name="w", image="i", kind="worker")))
    compiled = compile_stack(cfg)
    exported = {name for path, outputs in exports_guard.new_outputs(exports_guard.new_trees(compiled.files), {"g-t": compiled.root}).items()
                for name, o in outputs.items() if "Export" in o}
    for group in compiled.groups:
        imports = exports_guard.imports_of(compiled.files, group, {"RootStackName": "g-t"})
        assert imports and {i.removeprefix("g-t-") for i in imports} <= exported


def test_pin_parameter_names_are_stable() -> None:
    from stack_cfn.blueprints.group import pin_key

    assert exports_guard.pin_parameter("app-Cluster", "app") == "PinnedCluster"
    assert pin_key("main-db-Host") == "MainDbHost" and exports_guard.pin_parameter("app-main-db-Host", "app") == "PinnedMainDbHost"


IN_USE_PROBE = textwrap.dedent('''
    import json, boto3
    from moto import mock_aws
    exporter = {"Parameters": {"V": {"Type": "String"}}, "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"O": {"Value": {"Ref": "V"}, "Export": {"Name": "x-O"}}}}
    user = {"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "x-O"}}}}}
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="x", TemplateBody=json.dumps(exporter), Parameters=[{"ParameterKey": "V", "ParameterValue": "a"}])
        cfn.create_stack(StackName="y", TemplateBody=json.dumps(user))
        cs = cfn.create_change_set(StackName="x", ChangeSetName="c", ChangeSetType="UPDATE", TemplateBody=json.dumps(exporter),
                                   Parameters=[{"ParameterKey": "V", "ParameterValue": "b"}])
        cfn.execute_change_set(ChangeSetName=cs["Id"])
        print(cfn.describe_stacks(StackName="x")["Stacks"][0]["StackStatus"])
''')


def test_moto_still_changes_an_export_in_use() -> None:
    """AWS rule (CloudFormation User Guide, Exporting stack output values): an update changing an export another stack
    imports fails. Plain moto completes it: ship/strict_local.py's _exports_in_use_stay makes the local AWS refuse."""
    assert last_line(IN_USE_PROBE) == "UPDATE_COMPLETE", "moto now refuses: remove strict_local._exports_in_use_stay"


TAGS_PROBE = textwrap.dedent('''
    import json, boto3
    from moto import mock_aws
    body = json.dumps({"Parameters": {"V": {"Type": "String"}}, "Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="x", TemplateBody=body, Parameters=[{"ParameterKey": "V", "ParameterValue": "a"}], Tags=[{"Key": "k", "Value": "1"}])
        cs = cfn.create_change_set(StackName="x", ChangeSetName="c", ChangeSetType="UPDATE", TemplateBody=body,
                                   Parameters=[{"ParameterKey": "V", "ParameterValue": "b"}], Tags=[{"Key": "k", "Value": "2"}])
        cfn.execute_change_set(ChangeSetName=cs["Id"])
        print({t["Key"]: t["Value"] for t in cfn.describe_stacks(StackName="x")["Stacks"][0]["Tags"]}["k"])
''')


def test_moto_still_keeps_a_stacks_tags_when_a_change_set_runs() -> None:
    """AWS rule (CreateChangeSet API reference, Tags: "Key-value pairs to associate with this stack"): executing the
    change set tags the stack. A two-phase deploy's last phase repeats the first deploy's template and parameters, so
    a stale fingerprint tag would skip it; ship/strict_local.py's _change_sets_update_the_stack gives the local AWS the rule."""
    assert last_line(TAGS_PROBE) == "1", "moto now applies change set tags: remove the tags of strict_local._change_sets_update_the_stack"


PARAMETERS_PROBE = textwrap.dedent('''
    import json, boto3
    from moto import mock_aws
    body = json.dumps({"Parameters": {"V": {"Type": "String"}}, "Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="x", TemplateBody=body, Parameters=[{"ParameterKey": "V", "ParameterValue": "a"}])
        for value in ("b", "a"):
            cs = cfn.create_change_set(StackName="x", ChangeSetName="c" + value, ChangeSetType="UPDATE", TemplateBody=body,
                                       Parameters=[{"ParameterKey": "V", "ParameterValue": value}])
            status = cfn.describe_change_set(ChangeSetName=cs["Id"])["Status"]
            if status == "CREATE_COMPLETE":
                cfn.execute_change_set(ChangeSetName=cs["Id"])
        print(status)
''')


def test_moto_still_compares_a_change_set_with_the_parameters_a_stack_was_created_with() -> None:
    """AWS rule (CreateChangeSet: a change set holds the changes between the stack as it is and the submitted template
    and parameters): going back to an earlier parameter value is a change. moto compares with the creation's values,
    so a two-phase deploy's last phase (pins emptied again) would be skipped as "didn't contain changes"."""
    assert last_line(PARAMETERS_PROBE) == "FAILED", "moto now keeps a stack's parameters: remove them from strict_local._change_sets_update_the_stack"


class Deployed:
    """A target whose CloudFormation describes one group stack with the given parameters."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.parameters = parameters

    def client(self, service: str) -> Deployed:
        return self

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803
        return {"Stacks": [{"Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
                            "Capabilities": ["CAPABILITY_IAM"]}]}


def test_a_first_phase_on_the_deployed_template_changes_only_the_pins() -> None:
    deployed = Deployed({"RootStackName": "app", "PinnedCluster": "", "PinnedVpcId": ""})
    assert exports_guard.on_deployed_template(deployed, "app-services-1", "RootStackName", {"PinnedCluster": "c-1"}) == (
        {"PinnedCluster": "c-1", "PinnedVpcId": "", "RootStackName": "app"}, ("CAPABILITY_IAM",))


def test_a_deployed_template_without_the_pins_takes_the_new_template() -> None:
    """Deployed before pins existed (or declaring something else): None, and the new template takes the first phase."""
    older = Deployed({"RootStackName": "app"})
    assert exports_guard.on_deployed_template(older, "app-services-1", "RootStackName", {"PinnedCluster": "c-1"}) is None
    other = Deployed({"RootStackName": "app", "PinnedCluster": "", "Something": "x"})
    assert exports_guard.on_deployed_template(other, "app-services-1", "RootStackName", {"PinnedCluster": "c-1"}) is None
