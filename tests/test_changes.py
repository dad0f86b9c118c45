"""Changes between two sets of templates, decided offline (model/changes.py): replacement from the resource
schemas' create-only properties (cfn-lint's copy, ship/schemas.py), nested stacks matched by logical id,
stateful resources flagged with what they lose, and the same answer every time."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model.changes import STATEFUL, CreateOnly, Tree, compare, trees_from_files
from stack_cfn.ship.schemas import SchemaRules

RULES = SchemaRules("us-east-1")


def template(resources: dict[str, Any], parameters: dict[str, Any] | None = None, conditions: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Resources": resources, **({"Parameters": parameters} if parameters else {}), **({"Conditions": conditions} if conditions else {})}


def one(kind: str, **properties: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": properties}


def changed(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The single resource change between two one-template builds, as JSON."""
    result = compare({"stack.json": Tree("stack.json", old)}, {"stack.json": Tree("stack.json", new)}, RULES).as_dict()
    resources = [r for t in result["templates"] for r in t["resources"]]
    assert len(resources) == 1, resources
    return dict(resources[0])


@pytest.mark.parametrize("kind,before,after,replacement", [
    ("AWS::S3::Bucket", {"BucketName": "a"}, {"BucketName": "b"}, "always"),
    ("AWS::EC2::SecurityGroup", {"GroupDescription": "a"}, {"GroupDescription": "b"}, "always"),
    ("AWS::EC2::SecurityGroup", {"GroupDescription": "a", "Tags": [{"Key": "k", "Value": "1"}]},
     {"GroupDescription": "a", "Tags": [{"Key": "k", "Value": "2"}]}, "never"),
    ("AWS::ECS::Service", {"Cluster": "c", "DesiredCount": 1}, {"Cluster": "c", "DesiredCount": 2}, "never"),
    ("AWS::ECS::Service", {"Cluster": "c"}, {"Cluster": "d"}, "always"),
    ("AWS::RDS::DBInstance", {"DBName": "a", "Engine": "postgres"}, {"DBName": "b", "Engine": "postgres"}, "always"),
    ("AWS::RDS::DBInstance", {"Engine": "postgres"}, {"Engine": "mysql"}, "conditional"),
    ("AWS::RDS::DBInstance", {"DBInstanceClass": "db.t4g.medium"}, {"DBInstanceClass": "db.t4g.large"}, "never"),
    ("AWS::Logs::LogGroup", {"LogGroupName": "a"}, {"LogGroupName": "b"}, "always"),
    ("AWS::Logs::LogGroup", {"RetentionInDays": 7}, {"RetentionInDays": 30}, "never"),
    ("AWS::ECS::TaskDefinition", {"Cpu": "256"}, {"Cpu": "512"}, "always"),
])
def test_replacement_is_decided_from_the_schemas_create_only_properties(kind: str, before: dict[str, Any], after: dict[str, Any],
                                                                        replacement: str) -> None:
    """AWS rule: a change to a property in the type's createOnlyProperties replaces the resource; one in
    conditionalCreateOnlyProperties may (CloudFormation CLI resource type schema; cfn-lint's provider schemas)."""
    change = changed(template({"R": one(kind, **before)}), template({"R": one(kind, **after)}))
    assert change["action"] == "modify" and change["replacement"] == replacement, change
    stateful = kind in STATEFUL and replacement != "never"
    assert bool(change["loss"]) == stateful, change


def test_every_stateful_type_is_a_type_cloudformation_knows() -> None:
    """The stateful list names real types: a typo would silently never flag anything."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    known = set(PROVIDER_SCHEMA_MANAGER.get_resource_types("us-east-1"))
    assert sorted(set(STATEFUL) - known) == []
    assert {"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::S3::Bucket", "AWS::EC2::EIP", "AWS::Logs::LogGroup",
            "AWS::SecretsManager::Secret", "AWS::DynamoDB::Table", "AWS::EFS::FileSystem", "AWS::KMS::Key"} <= set(STATEFUL)


@pytest.mark.parametrize("resource,mitigation", [
    (one("AWS::RDS::DBInstance", Engine="postgres"), "snapshot taken"),
    (one("AWS::RDS::DBInstance", Engine="aurora-postgresql", DBClusterIdentifier="c"), ""),
    (one("AWS::RDS::DBCluster", Engine="aurora-postgresql"), "snapshot taken"),
    ({**one("AWS::S3::Bucket"), "DeletionPolicy": "Retain"}, "retained"),
    (one("AWS::S3::Bucket"), ""),
    (one("AWS::EC2::EIP", Domain="vpc"), ""),
])
def test_removing_a_stateful_resource_says_what_is_lost_and_what_its_deletion_policy_keeps(resource: dict[str, Any], mitigation: str) -> None:
    """AWS rule (CloudFormation User Guide, "DeletionPolicy attribute"): without a DeletionPolicy a resource is deleted,
    except that AWS::RDS::DBCluster and an AWS::RDS::DBInstance without DBClusterIdentifier default to Snapshot."""
    change = changed(template({"R": resource, "Keep": one("AWS::SNS::Topic")}), template({"Keep": one("AWS::SNS::Topic")}))
    assert change["action"] == "remove" and change["loss"] == STATEFUL[resource["Type"]] and change["mitigation"] == mitigation


def test_a_replaced_database_keeps_a_snapshot_only_when_its_update_replace_policy_says_so() -> None:
    """AWS rule ("UpdateReplacePolicy attribute"): on replacement the old resource is deleted unless the policy keeps it;
    the DeletionPolicy does not apply to replacement."""
    def db(name: str, **attributes: str) -> dict[str, Any]:
        return template({"Db": {**one("AWS::RDS::DBInstance", DBName=name), "DeletionPolicy": "Snapshot", **attributes}})

    assert changed(db("a"), db("b"))["mitigation"] == ""
    assert changed(db("a", UpdateReplacePolicy="Snapshot"), db("b", UpdateReplacePolicy="Snapshot"))["mitigation"] == "snapshot taken"


def test_values_from_parameters_are_certain_and_computed_values_may_change() -> None:
    """A parameter with a known value (the parent's, else its Default) is compared as that value; a Fn::GetAtt that
    differs may differ, and on a create-only property that is a conditional replacement."""
    params = {"Name": {"Type": "String", "Default": "a"}}
    old = template({"Db": one("AWS::RDS::DBInstance", DBName={"Ref": "Name"}, DBSubnetGroupName={"Fn::GetAtt": ["X", "Name"]}),
                    "X": one("AWS::SNS::Topic")}, params)
    same_value = template({"Db": one("AWS::RDS::DBInstance", DBName="a", DBSubnetGroupName={"Fn::GetAtt": ["X", "Name"]}),
                           "X": one("AWS::SNS::Topic")})
    assert compare({"s": Tree("s", old)}, {"s": Tree("s", same_value)}, RULES).changed is False, "Ref of a parameter is its value"
    other_source = template({"Db": one("AWS::RDS::DBInstance", DBName={"Ref": "Name"}, DBSubnetGroupName={"Fn::GetAtt": ["Y", "Name"]}),
                             "X": one("AWS::SNS::Topic")}, params)
    change = changed(old, other_source)
    assert change["replacement"] == "conditional" and change["properties"][0]["certain"] is False and "may change" in change["properties"][0]["why"]


def test_conditions_over_known_parameters_decide_fn_if_and_whether_a_resource_exists() -> None:
    params = {"On": {"Type": "String", "Default": "yes"}}
    conditions = {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "yes"]}}
    old = template({"B": one("AWS::S3::Bucket", BucketName={"Fn::If": ["IsOn", "a", {"Ref": "AWS::NoValue"}]})}, params, conditions)
    new = template({"B": one("AWS::S3::Bucket", BucketName="a"), "T": {**one("AWS::SNS::Topic"), "Condition": "IsOff"}}, params,
                   {**conditions, "IsOff": {"Fn::Not": [{"Condition": "IsOn"}]}})
    assert compare({"s": Tree("s", old)}, {"s": Tree("s", new)}, RULES).changed is False


def test_a_replaced_resource_may_replace_the_resources_that_read_it() -> None:
    """A replacement gives a new physical id: a create-only property that reads it (Ref) may change, so its reader may
    be replaced too (CloudFormation's "Conditional" replacement in a change set)."""
    old = template({"Group": one("AWS::RDS::DBSubnetGroup", DBSubnetGroupName="a", DBSubnetGroupDescription="d", SubnetIds=["s"]),
                    "Db": one("AWS::RDS::DBInstance", DBSubnetGroupName={"Ref": "Group"})})
    new = json.loads(json.dumps(old))
    new["Resources"]["Group"]["Properties"]["DBSubnetGroupName"] = "b"
    result = compare({"s": Tree("s", old)}, {"s": Tree("s", new)}, RULES)
    db = next(r for t in result.templates for r in t.resources if r.logical_id == "Db")
    assert db.replacement == "conditional" and db.loss == STATEFUL["AWS::RDS::DBInstance"] and "reads Group" in db.properties[0].why
    assert [path for path, _ in result.losses] == ["s"]


def nested_build(db_name: str, logical_id: str = "MainDatabase", stem: str = "rds-aaaa") -> dict[str, dict[str, Any]]:
    child = template({"Database": one("AWS::RDS::DBInstance", DBName={"Ref": "DatabaseName"})}, {"DatabaseName": {"Type": "String"}})
    file = f"{stem}.json"
    root = template({logical_id: one("AWS::CloudFormation::Stack", TemplateURL=file, Parameters={"DatabaseName": db_name})})
    return {"stack.json": root, file: child}


def test_nested_stacks_are_matched_by_logical_id_whatever_their_file_is_called() -> None:
    """Content-addressed file names change with the content: the predecessor is the template the same logical id nested."""
    result = compare(trees_from_files(nested_build("main", stem="rds-aaaa")), trees_from_files(nested_build("shop", stem="rds-bbbb")), RULES)
    nested = next(t for t in result.templates if t.path == "stack.json > MainDatabase")
    assert (nested.old_file, nested.new_file) == ("rds-aaaa.json", "rds-bbbb.json")
    assert [(r.logical_id, r.replacement, r.loss) for r in nested.resources] == [("Database", "always", "the database's data")]
    assert nested.resources[0].mitigation == "", "no UpdateReplacePolicy: the DeletionPolicy's Snapshot default does not apply to a replacement"


def test_a_changed_logical_id_is_a_removal_and_an_addition_and_says_so() -> None:
    result = compare(trees_from_files(nested_build("main")), trees_from_files(nested_build("main", logical_id="OtherDatabase")), RULES)
    root = next(t for t in result.templates if t.path == "stack.json")
    assert [(r.action, r.logical_id) for r in root.resources] == [("remove", "MainDatabase"), ("add", "OtherDatabase")]
    assert "renamed to OtherDatabase" in root.resources[0].note and "renamed from MainDatabase" in root.resources[1].note
    removed = next(t for t in result.templates if t.path == "stack.json > MainDatabase")
    assert removed.new_file is None and removed.resources[0].action == "remove" and removed.resources[0].loss


def test_a_build_missing_a_nested_template_is_one_line() -> None:
    files = nested_build("main")
    del files["rds-aaaa.json"]
    with pytest.raises(ConfigError, match="nests rds-aaaa.json"):
        trees_from_files(files, "OLD build")


class NoRules:
    def create_only(self, resource_type: str) -> CreateOnly:
        return CreateOnly()


def test_the_comparison_is_deterministic_whatever_the_order_of_the_input() -> None:
    old, new = nested_build("main"), nested_build("shop", stem="rds-bbbb")
    first = json.dumps(compare(trees_from_files(old), trees_from_files(new), RULES).as_dict(), sort_keys=False)

    def shuffled(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        items = list(files.items())
        random.Random(7).shuffle(items)
        return {k: json.loads(json.dumps(v)) for k, v in items}

    assert json.dumps(compare(trees_from_files(shuffled(old)), trees_from_files(shuffled(new)), RULES).as_dict(), sort_keys=False) == first
    assert compare(trees_from_files(old), trees_from_files(new), NoRules()).losses == (), "without create-only properties nothing is replaced"


def test_a_nested_template_uploaded_to_s3_is_the_same_as_its_file() -> None:
    """plan compares the deployed templates (TemplateURL: the S3 URL upload wrote) with a new build (the file name)."""
    deployed = nested_build("main")
    deployed["stack.json"]["Resources"]["MainDatabase"]["Properties"]["TemplateURL"] = "https://b.s3.us-east-1.amazonaws.com/stack-cfn/rds-aaaa.json"
    assert compare(trees_from_files(deployed), trees_from_files(nested_build("main")), RULES).changed is False
