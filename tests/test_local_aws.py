"""The local AWS: the moto gaps stack_cfn/local.py fills must still be gaps.

Each probe runs plain moto (no stack-cfn patches) in a subprocess. When a moto
release fixes a gap, its probe fails here: delete the matching shim.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from stack_cfn.ship.local import LocalAws

PROBE = textwrap.dedent('''
    import json, warnings
    warnings.simplefilter("ignore")
    import boto3
    from moto import mock_aws

    child = {"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}}},
             "Outputs": {"V": {"Value": {"Ref": "V"}}}}
    user = {"Parameters": {"Vpc": {"Type": "String"}},
            "Resources": {"S": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.0.0/24"}}}}
    with mock_aws():
        kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        s3, cfn = boto3.client("s3", **kw), boto3.client("cloudformation", **kw)
        s3.create_bucket(Bucket="probe")
        s3.put_object(Bucket="probe", Key="c.json", Body=json.dumps(child))
        s3.put_object(Bucket="probe", Key="u.json", Body=json.dumps(user))
        url = "https://probe.s3.us-east-1.amazonaws.com/"
        if MODE == "nested":
            root = {"Resources": {"C": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url + "c.json"}},
                                  "U": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url + "u.json",
                                        "Parameters": {"Vpc": {"Fn::GetAtt": ["C", "Outputs.V"]}}}}}}
            try:
                cfn.create_stack(StackName="r", TemplateBody=json.dumps(root))
                print("WORKS")
            except Exception as exc:
                print("GAP", type(exc).__name__)
        elif MODE == "import":
            exporter = {"Resources": child["Resources"], "Outputs": {"V": {"Value": {"Ref": "V"}, "Export": {"Name": "probe-vpc"}}}}
            cfn.create_stack(StackName="e", TemplateBody=json.dumps(exporter))
            importer = {"Resources": {"S": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Fn::ImportValue": "probe-vpc"}, "CidrBlock": "10.9.1.0/24"}}}}
            cs = cfn.create_change_set(StackName="i", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(importer))
            try:
                cfn.execute_change_set(ChangeSetName=cs["Id"])
                print("WORKS")
            except Exception as exc:
                print("GAP", type(exc).__name__)
        elif MODE == "rds":
            db = {"Resources": {"D": {"Type": "AWS::RDS::DBInstance", "Properties": {"Engine": "postgres", "DBInstanceClass": "db.t4g.micro",
                  "AllocatedStorage": 20, "MasterUsername": "u", "ManageMasterUserPassword": True}}},
                  "Outputs": {"S": {"Value": {"Fn::GetAtt": ["D", "MasterUserSecret.SecretArn"]}}}}
            try:
                cfn.create_stack(StackName="d", TemplateBody=json.dumps(db))
                outputs = cfn.describe_stacks(StackName="d")["Stacks"][0].get("Outputs") or []
                print("WORKS" if outputs and outputs[0].get("OutputValue") else "GAP no secret")
            except Exception as exc:
                print("GAP", type(exc).__name__)
        elif MODE == "select":
            picker = {"Parameters": {"I": {"Type": "Number", "Default": 1}},
                      "Resources": {"S": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Select": [{"Ref": "I"}, ["10.7.0.0/16", "10.8.0.0/16"]]}}}}}
            try:
                cfn.create_stack(StackName="p", TemplateBody=json.dumps(picker))
                print("WORKS")
            except Exception as exc:
                print("GAP", type(exc).__name__)
        elif MODE == "stackset":
            cfn.create_stack_set(StackSetName="fleet", TemplateBody=json.dumps(child))
            cfn.create_stack_instances(StackSetName="fleet", Accounts=["123456789012"], Regions=["us-east-1"])
            names = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
            print("WORKS" if any(n.startswith("StackSet-fleet-") for n in names) else f"GAP {names}")
        elif MODE == "dbname":
            db = {"Resources": {"MainDatabaseWithAVeryLongLogicalIdThatCloudFormationWouldTrim": {"Type": "AWS::RDS::DBInstance", "Properties": {
                  "Engine": "postgres", "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": 20, "MasterUsername": "u", "MasterUserPassword": "p" * 12}}}}
            try:
                cfn.create_stack(StackName="StackSet-fleet-test-" + "0" * 36, TemplateBody=json.dumps(db))
                print("WORKS")
            except Exception as exc:
                print("GAP", type(exc).__name__)
        elif MODE == "capacity":
            provider = {"Resources": {"P": {"Type": "AWS::ECS::CapacityProvider", "Properties": {"AutoScalingGroupProvider": {
                        "AutoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/g"}}}},
                        "Outputs": {"P": {"Value": {"Ref": "P"}}}}
            cfn.create_stack(StackName="c", TemplateBody=json.dumps(provider))
            outputs = cfn.describe_stacks(StackName="c")["Stacks"][0].get("Outputs") or []
            name = outputs[0].get("OutputValue") if outputs else None
            found = boto3.client("ecs", **kw).describe_capacity_providers(capacityProviders=[name])["capacityProviders"] if name else []
            print("WORKS" if found else "GAP no provider")
        else:
            cs = cfn.create_change_set(StackName="r", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(child))
            cfn.execute_change_set(ChangeSetName=cs["Id"])
            print("WORKS" if cfn.describe_stacks(StackName="r")["Stacks"][0].get("Outputs") else "GAP no outputs")
''')


def probe(mode: str) -> str:
    result = subprocess.run([sys.executable, "-c", f"MODE = {mode!r}\n" + PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_moto_still_lacks_nested_stack_output_attributes() -> None:
    assert probe("nested").startswith("GAP"), "moto now resolves GetAtt Stack.Outputs: remove the shim in stack_cfn/local.py"


def test_moto_still_drops_outputs_of_change_set_stacks() -> None:
    assert probe("changeset").startswith("GAP"), "moto now keeps change-set stack outputs: remove _outputs_after_change_sets"


def test_moto_still_cannot_import_into_change_set_stacks() -> None:
    assert probe("import").startswith("GAP"), "moto now gives change-set stacks the exports: remove that part of the shim"


def test_moto_still_lacks_managed_master_passwords_in_cloudformation() -> None:
    assert probe("rds").startswith("GAP"), "moto now maps ManageMasterUserPassword and MasterUserSecret: remove _rds_managed_master_password"


def test_local_aws_starts_on_loopback_and_stops() -> None:
    local = LocalAws()
    target = local.start()
    try:
        assert local.endpoint_url.startswith("http://127.0.0.1:")
        assert target.client("sts").get_caller_identity()["Account"]
    finally:
        local.stop()
    import socket

    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", local.port)) != 0, "the server is stopped"


def test_moto_still_needs_a_literal_select_index() -> None:
    assert probe("select").startswith("GAP"), "moto now resolves a Ref as Fn::Select's index: remove _select_by_reference"


def test_moto_still_names_stack_set_instances_its_own_way() -> None:
    """CloudFormation names a StackSet instance's stack StackSet-<name>-<uuid>; moto 5.2.5 says StackSet:<name>."""
    assert probe("stackset").startswith("GAP"), "moto now names StackSet instance stacks as AWS does: remove _stack_set_instance_names"


def test_moto_still_generates_db_identifiers_past_the_rds_rule() -> None:
    """RDS identifiers are at most 63 characters (RDS API reference, CreateDBInstance); CloudFormation keeps the ones it generates so."""
    assert probe("dbname").startswith("GAP"), "moto now generates valid RDS identifiers: remove _generated_db_identifiers"
def test_moto_still_lacks_capacity_providers_in_cloudformation() -> None:
    assert probe("capacity").startswith("GAP"), "moto now makes AWS::ECS::CapacityProvider from templates: remove _ecs_capacity_providers"


def test_the_local_aws_makes_capacity_providers_from_templates() -> None:
    """The shim's side: a template's provider exists in ECS under its Ref (its name), as AWS makes it."""
    import json

    with LocalAws() as target:
        body = {"Resources": {"P": {"Type": "AWS::ECS::CapacityProvider", "Properties": {"Name": "cp-probe", "AutoScalingGroupProvider": {
                "AutoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/g",
                "ManagedDraining": "ENABLED"}}}}, "Outputs": {"P": {"Value": {"Ref": "P"}, "Export": {"Name": "probe-cp"}}}}
        cfn = target.client("cloudformation")
        cfn.create_stack(StackName="cp", TemplateBody=json.dumps(body))
        assert cfn.describe_stacks(StackName="cp")["Stacks"][0]["Outputs"][0]["OutputValue"] == "cp-probe"
        found = target.client("ecs").describe_capacity_providers(capacityProviders=["cp-probe"])["capacityProviders"]
        assert [p["name"] for p in found] == ["cp-probe"]
