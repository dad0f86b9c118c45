"""The local AWS: the moto gaps stack_cfn/local.py fills must still be gaps.

Each probe runs plain moto (no stack-cfn patches) in a subprocess. When a moto
release fixes a gap, its probe fails here: delete the matching shim.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import botocore.exceptions
import pytest

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
            names = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]  # a fresh mock: one page
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
        elif MODE == "capabilities":
            named = {"Resources": {"U": {"Type": "AWS::IAM::User", "Properties": {"UserName": "probe-user"}}}}
            try:
                cfn.create_change_set(StackName="n", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(named),
                                      Capabilities=["CAPABILITY_IAM"])
                print("GAP accepted")
            except Exception as exc:
                print("WORKS", type(exc).__name__)
        elif MODE == "duplicate":
            for _ in range(2):
                try:
                    cfn.create_change_set(StackName="d", ChangeSetName="same", ChangeSetType="CREATE", TemplateBody=json.dumps(child))
                except Exception as exc:
                    print("WORKS", type(exc).__name__)
            shells = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "d"]
            print("GAP shells", len(shells)) if len(shells) > 1 else print("WORKS")
        elif MODE == "execute-twice":
            cs = cfn.create_change_set(StackName="x", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=json.dumps(child))
            cfn.execute_change_set(ChangeSetName=cs["Id"])
            try:
                cfn.execute_change_set(ChangeSetName=cs["Id"])
                print("GAP executed twice")
            except Exception as exc:
                print("WORKS", type(exc).__name__)
        elif MODE == "collision":
            logs = {"Resources": {"L": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/probe/fixed"}}}}
            cfn.create_stack(StackName="l", TemplateBody=json.dumps(logs))
            cfn.delete_stack(StackName="l")
            try:
                cfn.create_stack(StackName="l", TemplateBody=json.dumps(logs))
                status = cfn.describe_stacks(StackName="l")["Stacks"][0]["StackStatus"]
                print("WORKS" if status == "ROLLBACK_COMPLETE" else "GAP " + status)
            except Exception as exc:
                print("GAP raised", type(exc).__name__)
        elif MODE == "nested-update":
            logs = {"Parameters": {"P": {"Type": "String"}},
                    "Resources": {"L": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/probe/nested"}},
                                  "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "P"}}}}}
            s3.put_object(Bucket="probe", Key="l.json", Body=json.dumps(logs))
            root = lambda p: json.dumps({"Resources": {"N": {"Type": "AWS::CloudFormation::Stack",
                                         "Properties": {"TemplateURL": url + "l.json", "Parameters": {"P": p}}}}})
            cfn.create_stack(StackName="nu", TemplateBody=root("one"))
            try:
                cfn.update_stack(StackName="nu", TemplateBody=root("two"))
                print("WORKS")
            except Exception as exc:
                print("GAP raised", type(exc).__name__)
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


# ---------------------------------------------------------------- where the local AWS refuses what AWS refuses (ship/strict_local.py)

NAMED_USER = json.dumps({"Resources": {"U": {"Type": "AWS::IAM::User", "Properties": {"UserName": "strict-user"}}}})
TOPIC = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})


def aws_error(call) -> tuple[str, str]:  # noqa: ANN001
    try:
        call()
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
    return "", ""


def test_moto_still_accepts_a_named_iam_resource_without_capability_named_iam() -> None:
    assert probe("capabilities").startswith("GAP"), "moto now checks capabilities: remove strict_local._capabilities"


def test_local_aws_refuses_a_named_iam_resource_without_capability_named_iam(local_aws) -> None:  # noqa: ANN001
    """AWS rule (CreateChangeSet API reference, Capabilities): "If you have IAM resources with custom names, you must
    specify CAPABILITY_NAMED_IAM. If you don't specify either of these capabilities, CloudFormation returns an
    InsufficientCapabilities error." The local AWS answers as AWS does; with the capability, it accepts."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    code, message = aws_error(lambda: cfn.create_change_set(StackName="strict-caps", ChangeSetName="c", ChangeSetType="CREATE",
                                                            TemplateBody=NAMED_USER, Capabilities=["CAPABILITY_IAM"]))
    assert code == "InsufficientCapabilitiesException" and "CAPABILITY_NAMED_IAM" in message
    code, _ = aws_error(lambda: cfn.create_stack(StackName="strict-caps2", TemplateBody=NAMED_USER))
    assert code == "InsufficientCapabilitiesException"
    cfn.create_change_set(StackName="strict-caps", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=NAMED_USER,
                          Capabilities=["CAPABILITY_NAMED_IAM"])
    cfn.delete_stack(StackName="strict-caps")


def test_local_aws_checks_the_deployed_templates_capabilities_for_use_previous_template(local_aws) -> None:  # noqa: ANN001
    """The same rule for a change set on the deployed template (UsePreviousTemplate, as a two-phase deploy's first phase
    sends): the template still has its named IAM user, so CAPABILITY_IAM alone is refused."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    cfn.create_stack(StackName="strict-prev", TemplateBody=NAMED_USER, Capabilities=["CAPABILITY_NAMED_IAM"])
    try:
        code, message = aws_error(lambda: cfn.create_change_set(StackName="strict-prev", ChangeSetName="c", ChangeSetType="UPDATE",
                                                                UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"]))
        assert code == "InsufficientCapabilitiesException" and "CAPABILITY_NAMED_IAM" in message
        cfn.create_change_set(StackName="strict-prev", ChangeSetName="c", ChangeSetType="UPDATE", UsePreviousTemplate=True,
                              Capabilities=["CAPABILITY_NAMED_IAM"])
    finally:
        cfn.delete_stack(StackName="strict-prev")


def test_moto_still_makes_a_second_stack_shell_for_a_repeated_change_set() -> None:
    assert probe("duplicate").startswith("GAP"), "moto now refuses a repeated change set name: remove that part of strict_local._change_sets"


def test_local_aws_answers_a_repeated_change_set_as_aws_does(local_aws) -> None:  # noqa: ANN001
    """AWS rules (CreateChangeSet API reference): a change set name is unique per stack (AlreadyExistsException);
    the same request repeated with its ClientToken is the same change set; a CREATE change set for a stack in
    REVIEW_IN_PROGRESS belongs to that stack (no second stack of one name); ExecuteChangeSet of a change set that was
    executed answers InvalidChangeSetStatus."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    first = cfn.create_change_set(StackName="strict-dup", ChangeSetName="a", ChangeSetType="CREATE", TemplateBody=TOPIC, ClientToken="t-1")
    again = cfn.create_change_set(StackName="strict-dup", ChangeSetName="a", ChangeSetType="CREATE", TemplateBody=TOPIC, ClientToken="t-1")
    assert again["Id"] == first["Id"], "a retried request is the same change set"
    assert aws_error(lambda: cfn.create_change_set(StackName="strict-dup", ChangeSetName="a", ChangeSetType="CREATE", TemplateBody=TOPIC))[0] == \
        "AlreadyExistsException"
    other = cfn.create_change_set(StackName="strict-dup", ChangeSetName="b", ChangeSetType="CREATE", TemplateBody=TOPIC)
    assert other["StackId"] == first["StackId"]
    assert len([s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "strict-dup" and s["StackStatus"] != "DELETE_COMPLETE"]) == 1
    cfn.execute_change_set(ChangeSetName=first["Id"])
    assert aws_error(lambda: cfn.execute_change_set(ChangeSetName=first["Id"]))[0] == "InvalidChangeSetStatus"
    code, message = aws_error(lambda: cfn.create_change_set(StackName="strict-dup", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=TOPIC))
    assert code == "ValidationError" and "already exists" in message
    cfn.delete_stack(StackName="strict-dup")


def test_moto_still_executes_a_change_set_twice() -> None:
    assert probe("execute-twice").startswith("GAP"), "moto now refuses a second ExecuteChangeSet: remove that part of strict_local._change_sets"


def test_moto_still_lets_a_fixed_name_collision_escape_as_an_unparseable_answer() -> None:
    assert probe("collision").startswith("GAP"), "moto now fails the stack on a name collision: remove strict_local._collisions_fail_the_stack"


def test_local_aws_fails_the_stack_on_a_fixed_name_collision(local_aws) -> None:  # noqa: ANN001
    """AWS rule: a resource whose fixed name exists (here a log group retained by an earlier stack, DeletionPolicy
    Retain) fails with "... already exists" and the stack rolls back (AWS::Logs::LogGroup reference, LogGroupName;
    CloudFormation troubleshooting, "Resource already exists"). ExecuteChangeSet itself succeeds: the failure is
    the stack's, read from its events."""
    _, target = local_aws
    cfn = target.client("cloudformation")
    logs = json.dumps({"Resources": {"L": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/strict/fixed"}}}})
    for attempt in range(2):
        cs = cfn.create_change_set(StackName="strict-logs", ChangeSetName=f"c{attempt}", ChangeSetType="CREATE", TemplateBody=logs)
        cfn.execute_change_set(ChangeSetName=cs["Id"])
        status = cfn.describe_stacks(StackName="strict-logs")["Stacks"][0]["StackStatus"]
        if attempt == 0:
            assert status == "CREATE_COMPLETE"
            cfn.delete_stack(StackName="strict-logs")
    assert status == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") or "" for e in cfn.describe_stack_events(StackName="strict-logs")["StackEvents"]]
    assert any("already exists" in r for r in reasons), reasons
    assert not cfn.describe_stacks(StackName="strict-logs")["Stacks"][0].get("Outputs"), "rolled back: no outputs"
    cfn.describe_stacks()  # describing every stack does not create the failed one's resources again (and collide)
    cfn.delete_stack(StackName="strict-logs")


EXPORTS_PROBE = textwrap.dedent('''
    import os, warnings, logging, tempfile, yaml
    warnings.simplefilter("ignore")
    from stack_cfn.ship import strict_local
    if MODE == "plain":
        strict_local._exports_leave_with_stacks = lambda: None
    from stack_cfn.ship.local import LocalAws
    from stack_cfn import cli
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"); os.environ.pop("AWS_PROFILE", None)
    local = LocalAws(); target = local.start()
    path = os.path.join(tempfile.mkdtemp(), "stack.yaml")
    open(path, "w").write(yaml.safe_dump({"name": "exp", "environment": "test", "key_name": "k", "bastion": False}))
    args = ["--endpoint-url", local.endpoint_url, "--region", "us-east-1", "-c", path]
    assert cli.main(["deploy", *args, "--bucket", "exp-templates", "--create-bucket"]) == 0
    assert cli.main(["destroy", *args, "--yes"]) == 0
    left = [e["Name"] for e in target.client("cloudformation").list_exports()["Exports"]]
    print("GAP " + str(len(left)) if left else "WORKS")
''')


@pytest.mark.e2e
def test_exports_leave_with_their_stack() -> None:
    """AWS rule: an export exists while its stack does (CloudFormation user guide, "Exporting stack output values":
    exports are listed per existing stack; a deleted stack's export names can be used again). Without
    strict_local's shim, the local AWS (moto plus the shims above) keeps the nested stacks' exports after the root is
    deleted, and a redeploy under the same name fails with "Export names must be unique"; with it, none is left."""
    results = {}
    for mode in ("plain", "strict"):
        run = subprocess.run([sys.executable, "-c", f"MODE = {mode!r}\n" + EXPORTS_PROBE], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        results[mode] = run.stdout.strip().splitlines()[-1]
    assert results["plain"].startswith("GAP"), "moto now removes nested stacks' exports: remove strict_local._exports_leave_with_stacks"
    assert results["strict"] == "WORKS"


def test_moto_still_rebuilds_nested_stacks_on_update_so_retained_log_groups_collide() -> None:
    assert probe("nested-update").startswith("GAP"), "moto now updates nested stacks in place: remove strict_local._nested_updates_keep_log_groups"


def test_local_aws_updates_a_nested_stack_with_a_retained_log_group_as_aws_does(local_aws) -> None:  # noqa: ANN001
    """AWS rule (AWS::CloudFormation::Stack reference, TemplateURL/Parameters: update requires No interruption): a nested
    stack is updated in place, so its retained, fixed-name log group stays its own and does not collide with itself."""
    _, target = local_aws
    s3, cfn = target.client("s3"), target.client("cloudformation")
    s3.create_bucket(Bucket="strict-nested")
    logs = {"Parameters": {"P": {"Type": "String"}},
            "Resources": {"L": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/strict/nested"}},
                          "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "P"}}}}}
    s3.put_object(Bucket="strict-nested", Key="l.json", Body=json.dumps(logs))
    url = f"https://strict-nested.s3.{target.region}.amazonaws.com/l.json"

    def root(value: str) -> str:
        return json.dumps({"Resources": {"N": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url, "Parameters": {"P": value}}}}})

    cfn.create_stack(StackName="strict-nested", TemplateBody=root("one"))
    cfn.update_stack(StackName="strict-nested", TemplateBody=root("two"))
    assert cfn.describe_stacks(StackName="strict-nested")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    groups = target.client("logs").describe_log_groups(logGroupNamePrefix="/strict/nested")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/strict/nested"]
    cfn.delete_stack(StackName="strict-nested")
