"""Export safety without AWS: which deployed exports a deploy would remove or redefine, the refusal line, and that
plain moto still lacks ListImports (the local AWS answers it: ship/strict_local.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from stack_cfn.ship import exports_guard
from stack_cfn.ship.exports_guard import ExportChange, Exported

ROOT = {"Resources": {"NetworkStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "network.json"}}},
        "Outputs": {"Environment": {"Value": {"Ref": "Environment"}, "Export": {"Name": "x-Environment"}}}}
NETWORK = {"Resources": {}, "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}, "Export": {"Name": "x-VpcId"}},
                                        "Cidr": {"Value": {"Fn::GetAtt": ["Vpc", "CidrBlock"]}}}}


def test_new_outputs_follow_nested_template_urls() -> None:
    files = {"stack.json": json.dumps(ROOT), "network.json": json.dumps(NETWORK)}
    new = exports_guard.new_outputs(files, {"app-prod": "stack.json"})
    assert sorted(new) == ["app-prod", "app-prod/NetworkStack"]
    assert new["app-prod/NetworkStack"]["VpcId"]["Value"] == {"Ref": "Vpc"}


def test_an_export_counts_as_changed_when_removed_unexported_or_redefined() -> None:
    """AWS rule (CloudFormation User Guide, Exporting stack output values): an imported output can be neither
    modified nor removed. Its value after the deploy is unknown before it, so its definition is compared."""
    new = exports_guard.new_outputs({"stack.json": json.dumps(ROOT), "network.json": json.dumps(NETWORK)}, {"app-prod": "stack.json"})
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
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                            env={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("GAP"), "moto now answers ListImports: remove strict_local._list_imports"
