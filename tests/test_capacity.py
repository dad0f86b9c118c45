"""EC2 capacity that costs less (issue 20, item 7): several instance types, Spot and Graviton, model to template."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.cluster_contract import ECS_AMI_SSM, ECS_ARM64_AMI_SSM, Cluster
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.userdata import SPOT_DRAINING
from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import offerings
from stack_cfn.model.aws_checks import check_aws_rules
from stack_cfn.model.capacity import SpotConfig, architecture_of
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import parse_config
from stack_cfn.ship.ami import choose_ecs_ami
from stack_cfn.ship.lint import lint_findings
from tests.conftest import need
from tests.test_real_aws_compute import FakeTarget

ROOT = Path(__file__).resolve().parent.parent


def stack(**changes: Any) -> StackConfig:
    return StackConfig(name="my-app", environment="prod", **changes)


def cluster(cfg: StackConfig) -> dict[str, Any]:
    return json.loads(build_cluster(cfg).to_json())


def group(cfg: StackConfig) -> dict[str, Any]:
    return cluster(cfg)["Resources"]["AutoScalingGroup"]["Properties"]


MIXED = dict(ecs_instance_types=("m7i.large", "m6i.large", "m6a.large"))


def test_one_type_keeps_todays_template_byte_for_byte() -> None:
    """`ecs_instance_types` of one type (and no Spot) is `ecs_instance_type`: the same template, no policy."""
    today = build_cluster(stack(ecs_instance_type="c7i.large")).to_json()
    assert build_cluster(stack(ecs_instance_types=("c7i.large",))).to_json() == today
    assert "MixedInstancesPolicy" not in today and "LaunchTemplate" in group(stack())


def test_several_types_are_the_overrides_in_order_of_preference() -> None:
    """Auto Scaling API, MixedInstancesPolicy: a group names a launch template or a mixed-instances policy, "not both";
    LaunchTemplateOverrides InstanceType overrides the launch template's. OnDemandAllocationStrategy prioritized takes
    the overrides first to last."""
    props = group(stack(**MIXED))
    assert "LaunchTemplate" not in props, "a mixed group names its launch template inside the policy only"
    policy = props["MixedInstancesPolicy"]
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == [
        {"Ref": "EcsInstanceType"}, {"Ref": "EcsExtraInstanceType1"}, {"Ref": "EcsExtraInstanceType2"}]
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == {"Ref": "LaunchTemplate"}
    assert policy["InstancesDistribution"] == {"OnDemandAllocationStrategy": "prioritized", "OnDemandPercentageAboveBaseCapacity": 100}
    assert "CapacityRebalance" not in props, "Capacity Rebalancing replaces Spot Instances only: none here"
    params = cluster(stack(**MIXED))["Parameters"]
    assert [params[n]["Default"] for n in ("EcsInstanceType", "EcsExtraInstanceType1", "EcsExtraInstanceType2")] == list(MIXED["ecs_instance_types"])


def test_spot_is_an_instances_distribution_with_capacity_rebalancing() -> None:
    """InstancesDistribution: OnDemandBaseCapacity, OnDemandPercentageAboveBaseCapacity (0-100, 100 is On-Demand only),
    SpotAllocationStrategy price-capacity-optimized (AWS's recommendation); CapacityRebalance replaces Spot Instances
    at elevated risk of interruption (EC2 Auto Scaling user guide, Capacity Rebalancing)."""
    cfg = stack(**MIXED, ecs_spot=SpotConfig(on_demand_base=1, on_demand_percent=20))
    props = group(cfg)
    assert props["CapacityRebalance"] is True
    assert props["MixedInstancesPolicy"]["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized", "OnDemandBaseCapacity": {"Ref": "EcsOnDemandBase"},
        "OnDemandPercentageAboveBaseCapacity": {"Ref": "EcsOnDemandPercent"}, "SpotAllocationStrategy": "price-capacity-optimized"}
    params = cluster(cfg)["Parameters"]
    assert (params["EcsOnDemandBase"]["Default"], params["EcsOnDemandPercent"]["Default"]) == (1, 20)
    assert (params["EcsOnDemandPercent"]["MinValue"], params["EcsOnDemandPercent"]["MaxValue"]) == (0, 100)
    one_type = group(stack(ecs_spot=SpotConfig()))
    assert [o["InstanceType"] for o in one_type["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]] == [{"Ref": "EcsInstanceType"}]


def test_managed_draining_stays_on_and_termination_protection_off_with_spot() -> None:
    """ECS API, AutoScalingGroupProvider: managed termination protection only holds back scale-in, never a Spot
    interruption; managed draining moves the tasks of an instance the group terminates (a rebalanced Spot one too)."""
    provider = cluster(stack(**MIXED, ecs_spot=SpotConfig(), ecs_scaling="managed"))["Resources"]["CapacityProvider"]["Properties"]
    assert provider["AutoScalingGroupProvider"]["ManagedDraining"] == "ENABLED"
    assert provider["AutoScalingGroupProvider"]["ManagedTerminationProtection"] == "DISABLED"


def test_the_root_passes_each_type_and_the_spot_share() -> None:
    compiled = compile_stack(stack(**MIXED, ecs_spot=SpotConfig(on_demand_percent=50)))
    root = json.loads(compiled.files["stack.json"])
    passed = root["Resources"][Cluster.logical_id]["Properties"]["Parameters"]
    for name in ("EcsInstanceType", "EcsExtraInstanceType1", "EcsExtraInstanceType2", "EcsOnDemandBase", "EcsOnDemandPercent"):
        assert passed[name] == {"Ref": name} and name in root["Parameters"]
    assert root["Parameters"]["EcsOnDemandPercent"]["Default"] == 50


def test_mixed_spot_graviton_templates_are_cfn_lint_clean() -> None:
    cfg = parse_config((ROOT / "tests" / "matrix" / "mixed-spot-graviton.yaml").read_text())
    for name, text in compile_stack(cfg).files.items():
        assert lint_findings(name, text, ignore=()) == [], name


def test_arm64_reads_the_arm64_ecs_optimized_image() -> None:
    """ECS developer guide, "Retrieving Amazon ECS-optimized Linux AMI metadata": Amazon Linux 2023 (arm64) is
    /aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/<version>."""
    assert ECS_ARM64_AMI_SSM == "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
    params = cluster(stack(ecs_architecture="arm64", ecs_instance_type="m7g.large"))["Parameters"]
    assert params["EcsAmiSsmParameter"]["Default"] == ECS_ARM64_AMI_SSM
    assert cluster(stack())["Parameters"]["EcsAmiSsmParameter"]["Default"] == ECS_AMI_SSM


class ArchTarget(FakeTarget):
    """The fake AWS of test_real_aws_compute, with one image per public parameter."""

    def get_parameter(self, Name: str) -> dict[str, Any]:  # noqa: N803
        return {"Parameter": {"Value": "ami-000000000000000a4" if Name == ECS_ARM64_AMI_SSM else "ami-000000000000000b6"}}


def test_deploy_keeps_the_running_image_only_of_the_same_architecture() -> None:
    """An x86_64 image cannot boot a Graviton instance: a change of ecs_architecture takes today's image of the new
    architecture; otherwise the running image is kept, as before."""
    arm = stack(ecs_architecture="arm64", ecs_instance_type="m7g.large")
    running_x86 = {Cluster.EcsAmi.name: "", Cluster.EcsStockAmi.name: "ami-0000000000000000a", Cluster.EcsAmiSsmParameter.name: ECS_AMI_SSM}
    assert choose_ecs_ami(ArchTarget(running_x86), arm, "my-app-prod").image == "ami-000000000000000a4"
    assert choose_ecs_ami(ArchTarget(running_x86), stack(), "my-app-prod").image == "ami-0000000000000000a"
    running_arm = {**running_x86, Cluster.EcsAmiSsmParameter.name: ECS_ARM64_AMI_SSM}
    assert choose_ecs_ami(ArchTarget(running_arm), arm, "my-app-prod").image == "ami-0000000000000000a"
    assert choose_ecs_ami(ArchTarget(None), arm, "my-app-prod").image == "ami-000000000000000a4", "a first deploy: today's arm64 image"


def test_the_architecture_rule_agrees_with_ec2s_own_data() -> None:
    """EC2 instance type naming conventions: "g" after the generation is AWS Graviton (and a1 the first Graviton).
    Checked against every type's ProcessorInfo.SupportedArchitectures from EC2 DescribeInstanceTypes, as moto ships
    it (moto is a test dependency, not a runtime one, so the rule stands in for the data at build time)."""
    data = json.loads(gzip.decompress(resources.files("moto.ec2.resources").joinpath("instance_types.json.gz").read_bytes()))
    assert len(data) > 1000
    wrong = {t: v["ProcessorInfo"]["SupportedArchitectures"] for t, v in data.items()
             if architecture_of(t) not in v["ProcessorInfo"]["SupportedArchitectures"] and architecture_of(t) != "mac"}
    assert wrong == {}
    macs = {t for t in data if architecture_of(t) == "mac"}
    assert macs and all(a.endswith("_mac") for t in macs for a in data[t]["ProcessorInfo"]["SupportedArchitectures"])


@pytest.mark.parametrize("changes,message", [
    (dict(ecs_architecture="arm64", ecs_instance_types=("m7g.large", "m7i.large")),
     r"^ecs_instance_types\[1\]: m7i.large is an x86_64 type, but ecs_architecture is arm64 .*; use m7g.large \(arm64\)"),
    (dict(ecs_instance_type="m7g.large"), r"^ecs_instance_type: m7g.large is an arm64 type \(AWS Graviton\), but ecs_architecture is x86_64"),
    (dict(ecs_instance_types=("m7i.large", "d3en.large")), r"^ecs_instance_types\[1\]: d3en.large is not offered in us-west-2"),
    (dict(ecs_instance_type="c7i.large", ecs_instance_types=("m7i.large",)), r"^ecs_instance_type: is c7i.large, but ecs_instance_types is given too"),
    (dict(ecs_instance_types=("m7i.large", "m7i.large")), r"^ecs_instance_types: lists m7i.large twice"),
    (dict(ecs_spot=SpotConfig(on_demand_base=100)), r"^ecs_spot.on_demand_base: 100 On-Demand instances fill the whole group"),
])
def test_bad_capacity_is_refused_in_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        stack(**changes)
    assert "\n" not in str(caught.value)


def test_the_first_type_may_be_repeated_as_ecs_instance_type() -> None:
    """Precedence: ecs_instance_types is the list; ecs_instance_type beside it is refused unless it is its default or the first."""
    assert stack(ecs_instance_type="c7i.large", ecs_instance_types=("c7i.large", "c6i.large")).instance_types == ("c7i.large", "c6i.large")
    assert stack(ecs_instance_types=("c7i.large", "c6i.large")).mixed_instances


def test_at_most_forty_types() -> None:
    """EC2 Auto Scaling user guide (multiple instance types): at most 40 instance types per group."""
    assert F.MAX_INSTANCE_TYPES == 40
    with pytest.raises(ConfigError, match=r"^ecs_instance_types: lists 41 types, over the 40"):
        stack(ecs_instance_types=tuple(sorted(t for t in offerings.ec2_types("us-west-2") if architecture_of(t) == "x86_64"))[:41])


def test_spot_percent_is_a_percent_below_100() -> None:
    """InstancesDistribution OnDemandPercentageAboveBaseCapacity: 0-100, and 100 is On-Demand only (no Spot)."""
    with pytest.raises(ConfigError, match=r"^on_demand_percent: 101 is outside 0-100"):
        SpotConfig(on_demand_percent=101)
    with pytest.raises(ConfigError, match=r"^on_demand_percent: 100 launches no Spot instance"):
        SpotConfig(on_demand_percent=100)
    assert SpotConfig(on_demand_percent=99).on_demand_percent == 99


def test_packer_builds_arm64_too(tmp_path: Path) -> None:
    """packer/ecs.json: `architecture` chooses the source image (al2023-ami-ecs-hvm-*-<architecture>) and its filter,
    and the default build instance type (t4g.small on arm64); packer validate passes for both."""
    template = json.loads((ROOT / "packer" / "ecs.json").read_text())
    assert template["variables"]["architecture"] == "x86_64"
    builder = template["builders"][0]
    assert builder["source_ami_filter"]["filters"]["architecture"] == "{{user `architecture`}}"
    assert "t4g.small" in builder["instance_type"] and "kernel-6.1-{{ user `architecture` }}" in builder["source_ami_filter"]["filters"]["name"]
    need("packer")
    need("shellcheck")
    arm = tmp_path / "arm64.json"
    arm.write_text(json.dumps({"architecture": "arm64"}))
    run = lambda *a: subprocess.run([str(ROOT / "packer" / "validate.sh"), *a], capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert run(str(arm)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"architecture": "aarch64"}))
    result = run(str(bad))
    assert result.returncode != 0 and "is not x86_64 or arm64" in result.stderr


def test_spot_instances_drain_on_an_interruption_notice() -> None:
    """ECS developer guide, "Configuring Amazon ECS Linux container instances to receive Spot Instance notices": Spot
    Instance draining is off by default; ECS_ENABLE_SPOT_INSTANCE_DRAINING=true in ecs.config turns it on. Only with Spot."""
    def user_data(cfg: StackConfig) -> str:
        return str(cluster(cfg)["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0])

    assert SPOT_DRAINING == "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"
    assert f"\n      {SPOT_DRAINING}\n" in user_data(stack(**MIXED, ecs_spot=SpotConfig()))
    assert SPOT_DRAINING not in user_data(stack(**MIXED))


def test_each_type_is_checked_in_every_target_region() -> None:
    """`stack-cfn check --region R` and StackSets judge each region: m7i.large is not offered in ca-west-1 (cfn-lint's
    Price List data), so the second type of this list is refused there, naming one the region offers."""
    cfg = stack(ecs_instance_types=("m6i.large", "m7i.large"))
    if "m7i.large" in offerings.ec2_types("ca-west-1") or not offerings.has_data("ca-west-1"):
        pytest.fail("cfn-lint's data changed: pick another type missing from one region")
    with pytest.raises(ConfigError, match=r"^ecs_instance_types\[1\]: m7i.large is not offered in ca-west-1; use "):
        check_aws_rules(cfg, "ca-west-1")
