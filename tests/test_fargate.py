"""Fargate services and awsvpc networking: the model's rules (AWS's, with their sources) and what the builders emit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.registry import VARIANTS, built, module
from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.fargate import CapacityItem, database_admits_instances
from stack_cfn.model.loading import parse_config

FARGATE = {"launch_type": "fargate", "cpu": 512, "memory": 1024}


def svc(**kw: Any) -> ServiceConfig:
    return ServiceConfig(**{"name": "api", "image": "nginx", "port": 80, **kw})


def resources(s: ServiceConfig) -> dict[str, Any]:
    """The service's template as the compiler builds it: the service module, then its variants' parts."""
    return json.loads(built(module("service"), s).to_json())["Resources"]


def test_fargate_is_one_variant_of_the_service_module() -> None:
    assert [(v.name, v.module) for v in VARIANTS if v.name == "fargate"] == [("fargate", "service")]


def nested(compiled: Any, logical_id: str) -> dict[str, Any]:
    root = json.loads(compiled.files["stack.json"])
    return json.loads(compiled.files[root["Resources"][logical_id]["Properties"]["TemplateURL"]])


# ---------------------------------------------------------------- AWS's rules in the model


def test_every_fargate_pair_of_the_table_is_accepted_and_its_neighbours_refused() -> None:
    """Fargate CPU/memory pairs: ECS developer guide, "Troubleshoot Amazon ECS task definition invalid CPU or memory errors"."""
    assert F.FARGATE_TASK_SIZES[256] == (512, 1024, 2048)
    assert F.FARGATE_TASK_SIZES[4096][0] == 8192 and F.FARGATE_TASK_SIZES[4096][-1] == 30720
    for cpu, memories in F.FARGATE_TASK_SIZES.items():
        for memory in (memories[0], memories[-1]):
            assert svc(launch_type="fargate", cpu=cpu, memory=memory).memory == memory
        neighbour = next(m for m in (memories[-1] + 1024, memories[0] + 512) if m not in memories and m <= 122880)
        with pytest.raises(ConfigError, match=rf"memory: {neighbour} MiB is not a Fargate memory size for cpu {cpu} .*with cpu: {cpu}$"):
            svc(launch_type="fargate", cpu=cpu, memory=neighbour)


def test_sixteen_vcpu_fargate_tasks_take_32_to_120_gb_in_8_gb_steps() -> None:
    """AWS rule: 16384 CPU (16 vCPU) takes "Between 32 GB and 120 GB in 8 GB increments" and "requires Linux platform 1.4.0
    or later" (ECS developer guide, "Troubleshoot Amazon ECS task definition invalid CPU or memory errors",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html)."""
    assert F.FARGATE_TASK_SIZES[16384] == tuple(range(32 * 1024, 120 * 1024 + 1, 8 * 1024))
    template = resources(svc(launch_type="fargate", cpu=16384, memory=122880))
    assert template["TaskDefinition"]["Properties"]["Cpu"] == {"Ref": "Cpu"}
    with pytest.raises(ConfigError, match=r"platform_version: 1.3.0 does not offer cpu 16384 \(Fargate Linux platform 1.4.0 or later\)"):
        svc(launch_type="fargate", cpu=16384, memory=32768, platform_version="1.3.0")
    with pytest.raises(ConfigError, match=r"memory: 36864 MiB is not a Fargate memory size for cpu 16384 .* in steps of 8192 with cpu: 16384"):
        svc(launch_type="fargate", cpu=16384, memory=36864)


def test_a_task_takes_128_to_196608_cpu_units_on_ec2() -> None:
    """AWS rule: task CPU off Fargate is "between 128 CPU units (0.125 vCPUs) and 196608 CPU units (192 vCPUs)" (ECS API
    reference, RegisterTaskDefinition cpu); the old bound of 10240 (10 vCPU) refused 16 vCPU Fargate tasks."""
    assert svc(cpu=196608, memory=4096).cpu == 196608 and svc(cpu=128, memory=512).cpu == 128
    for cpu in (127, 196609):
        with pytest.raises(ConfigError, match=rf"cpu: {cpu} is outside 128-196608; ECS accepts 128 \(0.125 vCPU\) to 196608 \(192 vCPU\)"):
            svc(cpu=cpu, memory=4096)
    with pytest.raises(ConfigError, match=r"cpu: 32768 is not a Fargate task CPU size .*use cpu: one of 256, .*, 16384$"):
        svc(launch_type="fargate", cpu=32768, memory=65536)


def test_the_same_sizes_are_fine_on_ec2() -> None:
    assert svc(cpu=512, memory=512).memory == 512


@pytest.mark.parametrize(("kw", "error"), [
    ({**FARGATE, "network_mode": "bridge"}, "network_mode: is bridge, but Fargate tasks use awsvpc only"),
    ({"capacity": (CapacityItem("FARGATE_SPOT"),)}, "capacity: only a Fargate task has"),
    ({"platform_version": "LATEST"}, "platform_version: only a Fargate task"),
    ({"ephemeral_storage": 30}, "ephemeral_storage: only a Fargate task"),
    ({"cpu_architecture": "arm64"}, "cpu_architecture: is set, but an EC2 service"),
    ({**FARGATE, "capacity": (CapacityItem("FARGATE", base=1), CapacityItem("FARGATE_SPOT", base=1))}, "gives a base to more than one"),
    ({**FARGATE, "capacity": (CapacityItem("FARGATE"), CapacityItem("FARGATE"))}, "names FARGATE twice"),
    ({**FARGATE, "capacity": (CapacityItem("FARGATE", base=2, weight=0),)}, "weighs every provider 0"),
    ({"network_mode": "awsvpc", "load_balancer": "classic"}, "cannot register awsvpc tasks"),
    ({**FARGATE, "platform_version": "1.3.0", "ephemeral_storage": 30}, "1.3.0 does not offer ephemeral_storage"),
    ({**FARGATE, "ephemeral_storage": 201}, "ephemeral_storage: 201 is outside 21-200"),
])
def test_refusals_name_the_field_and_the_fix(kw: dict[str, Any], error: str) -> None:
    """CapacityProviderStrategyItem (one base, weights), EphemeralStorage (21-200 GiB, platform 1.4.0), awsvpc
    target type ip (no classic ELB): ECS API reference and developer guide, as cited in model/aws_facts.py."""
    with pytest.raises(ConfigError, match=error) as caught:
        svc(**kw)
    assert "\n" not in str(caught.value) and "; " in str(caught.value)


def test_the_stack_default_reaches_services_that_name_none_and_fargate_only_stacks_start_no_instances() -> None:
    cfg = parse_config("name: a\nenvironment: prod\nlaunch_type: fargate\nservices:\n"
                       "  - {name: api, image: nginx, port: 80, memory: 1024}\n  - {name: old, image: nginx, port: 80, launch_type: ec2}\n")
    assert [s.launch_type for s in cfg.services] == ["fargate", "ec2"]
    assert cfg.ecs_min_size == 3, "an EC2 service still needs instances"
    only = parse_config("name: a\nenvironment: prod\nlaunch_type: fargate\nservices:\n  - {name: api, image: nginx, port: 80, memory: 1024}\n")
    assert (only.ecs_min_size, only.ecs_desired_capacity) == (0, 0)
    assert only.warnings == ()
    kept = parse_config("name: a\nenvironment: prod\nlaunch_type: fargate\necs_min_size: 2\necs_desired_capacity: 2\n"
                        "services:\n  - {name: api, image: nginx, port: 80, memory: 1024}\n")
    assert kept.ecs_min_size == 2 and "every service runs on Fargate" in kept.warnings[0]


# ---------------------------------------------------------------- what the builders emit


def test_a_fargate_task_definition() -> None:
    """RequiresCompatibilities FARGATE, NetworkMode awsvpc, task-level Cpu and Memory (AWS::ECS::TaskDefinition: required on
    Fargate), RuntimePlatform, EphemeralStorage; host port = container port (awsvpc)."""
    task = resources(svc(**FARGATE, cpu_architecture="arm64", ephemeral_storage=50))["TaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
    assert (task["Cpu"], task["Memory"]) == ({"Ref": "Cpu"}, {"Ref": "Memory"})
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert task["EphemeralStorage"] == {"SizeInGiB": 50}
    assert task["ExecutionRoleArn"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}, "Fargate pulls and logs through the execution role"
    ports = task["ContainerDefinitions"][0]["PortMappings"]
    assert ports == [{"ContainerPort": {"Ref": "Port"}, "HostPort": {"Ref": "Port"}, "Protocol": "tcp"}]


def test_a_fargate_service_networks_by_its_own_group_and_spreads_over_fargate_providers() -> None:
    """awsvpc needs NetworkConfiguration; CapacityProviderStrategy without LaunchType; no placement strategies on Fargate;
    target type ip (ECS API reference CreateService; ECS developer guide, Fargate task definition differences)."""
    r = resources(svc(**FARGATE, capacity=(CapacityItem("FARGATE", base=1), CapacityItem("FARGATE_SPOT", weight=3)), platform_version="1.4.0"))
    service = r["Service"]["Properties"]
    assert "LaunchType" not in service
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
                                                   {"CapacityProvider": "FARGATE_SPOT", "Weight": 3}]
    assert service["PlatformVersion"] == "1.4.0"
    vpc = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["SecurityGroups"] == [{"Ref": "ServiceSecurityGroup"}] and vpc["AssignPublicIp"] == "DISABLED"
    assert "TaskSubnets" in json.dumps(vpc["Subnets"])
    for key in F.FARGATE_UNSUPPORTED_KEYS:
        assert key not in json.dumps(r), key
    assert r["TargetGroup"]["Properties"]["TargetType"] == "ip"
    (rule,) = r["ServiceSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert rule["FromPort"] == {"Ref": "Port"} and "LoadBalancerSecurityGroup" in json.dumps(rule["SourceSecurityGroupId"])


def test_an_ec2_awsvpc_service_keeps_its_instances_and_placement() -> None:
    r = resources(svc(network_mode="awsvpc"))
    assert r["TaskDefinition"]["Properties"]["RequiresCompatibilities"] == ["EC2"]
    assert r["TaskDefinition"]["Properties"]["NetworkMode"] == "awsvpc"
    assert "PlacementStrategies" in r["Service"]["Properties"] and "NetworkConfiguration" in r["Service"]["Properties"]
    assert "CapacityProvider" in json.dumps(r["Service"]["Properties"]["CapacityProviderStrategy"])
    assert r["TargetGroup"]["Properties"]["TargetType"] == "ip"


def test_bridge_services_are_as_before() -> None:
    r = resources(svc())
    assert r["TaskDefinition"]["Properties"]["NetworkMode"] == "bridge" and "ServiceSecurityGroup" not in r
    assert r["TargetGroup"]["Properties"]["TargetType"] == "instance" and "NetworkConfiguration" not in r["Service"]["Properties"]


STACK = """name: mix
environment: prod
bastion: false
databases: [{name: main}, {name: shared}, {name: idle}]
services:
  - {name: api, image: nginx, port: 80, launch_type: fargate, memory: 1024, databases: [main, shared]}
  - {name: web, image: nginx, port: 80, databases: [shared]}
  - {name: spot, image: busybox, kind: worker, launch_type: fargate, cpu: 256, memory: 512, capacity: [{provider: FARGATE_SPOT}]}
"""


def test_databases_admit_exactly_the_services_that_name_them() -> None:
    """Each awsvpc service admits its own group to the databases it names (AWS::EC2::SecurityGroupIngress: the way to
    reference groups across templates); the instances' group only where a bridge service names the database."""
    cfg = parse_config(STACK)
    assert [database_admits_instances(cfg, d) for d in ("main", "shared", "idle")] == [False, True, True]
    compiled = compile_stack(cfg)
    main = nested(compiled, "MainDatabase")
    assert main["Resources"]["DbSecurityGroup"]["Properties"]["SecurityGroupIngress"] == []
    assert "ClusterSecurityGroup" not in main["Parameters"]
    both = nested(compiled, "SharedDatabase")["Resources"]["DbSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [r["Description"] for r in both] == ["The container instances"]
    api = nested(compiled, "ApiService")
    ingress = [r["Properties"] for r in api["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert [i["SourceSecurityGroupId"] for i in ingress] == [{"Ref": "ServiceSecurityGroup"}] * 2
    root = json.loads(compiled.files["stack.json"])["Resources"]["ApiService"]["Properties"]["Parameters"]
    assert root["Database1SecurityGroup"] == {"Fn::GetAtt": ["MainDatabase", "Outputs.SecurityGroup"]}
    assert "ServiceSecurityGroup" not in json.dumps(nested(compiled, "SpotService")["Resources"]["ServiceSecurityGroup"]["Properties"].get(
        "SecurityGroupIngress", [])), "a worker admits nothing"


def test_the_cluster_offers_fargate_providers_only_when_a_service_runs_there() -> None:
    """Fargate providers "only need to be associated with a cluster" (ECS API reference, CapacityProviderStrategyItem)."""
    compiled = compile_stack(parse_config(STACK))
    providers = nested(compiled, "ClusterStack")["Resources"]["ClusterCapacityProviders"]["Properties"]["CapacityProviders"]
    assert providers == [{"Ref": "CapacityProvider"}, "FARGATE", "FARGATE_SPOT"]
    plain = compile_stack(StackConfig(name="mix", environment="prod"))
    assert nested(plain, "ClusterStack")["Resources"]["ClusterCapacityProviders"]["Properties"]["CapacityProviders"] == [{"Ref": "CapacityProvider"}]


def test_fargate_templates_are_deterministic_and_shared_by_alike_services() -> None:
    cfg = parse_config(STACK.replace("services:\n", "services:\n  - {name: api2, image: nginx, port: 80, launch_type: fargate, memory: 2048}\n"))
    a, b = compile_stack(cfg), compile_stack(cfg)
    assert a.files == b.files
    root = json.loads(a.files["stack.json"])["Resources"]
    assert root["Api2Service"]["Properties"]["TemplateURL"] != root["WebService"]["Properties"]["TemplateURL"]


def test_a_fargate_template_with_a_key_fargate_refuses_is_not_built() -> None:
    """Fargate task definition differences (ECS developer guide): no placement strategies, privileged, links..."""
    from troposphere import Template, ecs

    from stack_cfn.blueprints.contract import ContractError
    from stack_cfn.blueprints.fargate import _check_fargate_keys

    service = ecs.Service("Service", Cluster="c", PlacementStrategies=[ecs.PlacementStrategy(Type="spread", Field="instanceId")])
    Template().add_resource(service)
    with pytest.raises(ContractError, match="PlacementStrategies"):
        _check_fargate_keys(service)


def test_scheduled_jobs_count_in_the_launch_type_decisions() -> None:
    """Fargate services and jobs share one decision: the stack default reaches jobs that name none, an EC2 job keeps the
    instances a Fargate-only set of services would drop, and a database a job names admits the instances' group (a job's
    tasks run in it on EC2, and are given it on Fargate)."""
    base = ("name: a\nenvironment: prod\nlaunch_type: fargate\nservices:\n  - {name: api, image: nginx, port: 80, memory: 1024, databases: [orders]}\n"
            "databases:\n  - {name: orders}\n")
    fargate_job = parse_config(base + "jobs:\n  - {name: nightly, image: busybox, schedule: 'rate(1 day)', memory: 1024, databases: [orders]}\n")
    assert fargate_job.jobs[0].launch_type == "fargate", "the stack's default reaches the job"
    assert (fargate_job.ecs_min_size, fargate_job.ecs_desired_capacity) == (0, 0)
    assert database_admits_instances(fargate_job, "orders")
    ec2_job = parse_config(base + "jobs:\n  - {name: nightly, image: busybox, schedule: 'rate(1 day)', launch_type: ec2}\n")
    assert ec2_job.ecs_min_size == 3, "an EC2 job needs the instances"
    assert not database_admits_instances(ec2_job, "orders"), "only the Fargate service names it"
