"""The template interfaces: declared once, used by reference, stable, and checked at build time."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest
from troposphere import Template

from stack_cfn.blueprints.bastion_contract import Bastion
from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.compiler import compile_generic, compile_stack, instances
from stack_cfn.blueprints.contract import Contract, ContractError, Out, Param, Wired, declare
from stack_cfn.blueprints.group import ServiceGroup
from stack_cfn.blueprints.ingress_contract import Ingress, IngressShape
from stack_cfn.blueprints.layer_contract import Layer
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.registry import MODULES as REGISTERED
from stack_cfn.blueprints.registry import ROOT_CONTRACT, ROOT_NESTED
from stack_cfn.blueprints.root import Nested, build_root
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.blueprints.service_contract import Service
from stack_cfn.model.alarms import AlarmsConfig, ServiceAlarms
from stack_cfn.model.config import ServiceAutoScaling, ServiceConfig, StackConfig
from stack_cfn.ship.stackset import region_mapping, region_plans

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "stack_cfn"
SHAPES = [
    ServiceConfig(name="api", image="nginx", port=80, autoscaling=ServiceAutoScaling()),
    ServiceConfig(name="www", image="nginx", port=80, kind="web-service", load_balancer="classic", https=False),
    ServiceConfig(name="tcp", image="nginx", port=80, load_balancer="classic", protocol="TCP"),
    ServiceConfig(name="jobs", image="busybox", kind="worker"),
]


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_function_is_longer_than_60_lines() -> None:
    long = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "bench").glob("*.py")]:
        for fn in functions(ast.parse(path.read_text())):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > 60:
                long.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name} ({length} lines)")
    assert long == []


def string_literals(path: Path) -> set[str]:
    """String constants that could name a parameter: not docstrings, not a resource attribute (GetAtt(x, "Name")),
    not a key read from an AWS API answer (answer["VpcId"], .get("Name")), not an API filter ({"Name": ...}),
    not a resource property whose value is read through the declaration ({"Port": p[D.Port]})."""
    tree = ast.parse(path.read_text())
    skip = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef) and n.body and isinstance(n.body[0], ast.Expr)}
    for n in ast.walk(tree):
        if isinstance(n, ast.Subscript):
            skip.add(id(n.slice))
        elif isinstance(n, ast.Call) and (getattr(n.func, "id", "") == "GetAtt" or getattr(n.func, "attr", "") == "get"):
            skip.update(id(a) for a in n.args[1:2] if getattr(n.func, "id", "") == "GetAtt")
            skip.update(id(a) for a in n.args[:1] if getattr(n.func, "attr", "") == "get")
        elif isinstance(n, ast.Dict):
            skip.update(id(k) for k in n.keys if isinstance(k, ast.Constant) and k.value == "Name")
            # a resource's properties whose values come from the declaration ({"Port": p[D.Port]}): the key is AWS's property name
            skip.update(id(k) for k, v in zip(n.keys, n.values, strict=True) if isinstance(k, ast.Constant) and _from_declaration(v))
            # a resource type's property ({"AWS::IAM::User": "UserName"}): AWS's name, not a parameter
            skip.update(id(v) for k, v in zip(n.keys, n.values, strict=True) if isinstance(k, ast.Constant) and str(k.value).startswith("AWS::"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip}


def _from_declaration(value: ast.expr) -> bool:
    """A value read through the declaration: p[D.Port], or a helper given a row, flag(D.DeletionProtection)."""
    return any(isinstance(x, ast.Subscript) and isinstance(x.slice, ast.Attribute) for x in ast.walk(value)) or (
        isinstance(value, ast.Call) and any(isinstance(a, ast.Attribute) for a in value.args))


def declared_names(contract: type[Contract]) -> set[str]:
    names = {p.name for p in contract.params() if isinstance(p, Param)}
    names |= {p.at(i).name for p in contract.params() if not isinstance(p, Param) for i in range(4)}
    return names


# Which contract's parameter names a file must not spell out: each registered module's builder file and contract file,
# and the helper files the builders share.
HELPERS = {"blueprints/task.py": Service, "blueprints/loadbalancer.py": Service, "blueprints/parts.py": Service, "blueprints/alarms.py": Service,
           "blueprints/userdata.py": Cluster, "blueprints/group.py": ServiceGroup}
MODULES = {**{str(Path(inspect.getsourcefile(m.build) or "").relative_to(PACKAGE)): m.contract for m in REGISTERED}, **HELPERS}


@pytest.mark.parametrize("module,contract", MODULES.items(), ids=MODULES.keys())
def test_builders_take_parameter_names_from_the_declaration(module: str, contract: type[Contract]) -> None:
    assert string_literals(PACKAGE / module) & declared_names(contract) == set()


def test_nothing_outside_the_blueprints_spells_a_parameter_name() -> None:
    every = set().union(*(declared_names(c) for c in (*(m.contract for m in REGISTERED), ServiceGroup)))
    offenders = {}
    for path in [*PACKAGE.glob("*.py"), *(PACKAGE / "ship").glob("*.py"), PACKAGE / "blueprints" / "root.py", PACKAGE / "blueprints" / "compiler.py"]:
        found = string_literals(path) & every
        if found:
            offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert offenders == {}


# Parameter names are stable API: renaming one breaks every stack deployed with it. Change deliberately.
STABLE_PARAMETERS = {
    Network: {"Name", "Environment", "ExportPrefix", "Cidr", "InternalSubnet1Cidr", "InternalSubnet2Cidr", "InternalSubnet3Cidr",
              "ExternalSubnet1Cidr", "ExternalSubnet2Cidr", "ExternalSubnet3Cidr", "AvailabilityZone1", "AvailabilityZone2", "AvailabilityZone3",
              "DomainName", "SshCidr", "FlowLogs", "UseNatInstances", "UseEipWithNatInstances", "NatInstanceType", "NatInstanceAmi", "NatGateways", "S3Endpoint", "LogsExpirationEnabled",
              "LogsExpirationDays", "LogBucketName"},
    Cluster: {"Name", "Environment", "ExportPrefix", "EcsClusterName", "KeyName", "AllowContainerImds", "VpcId", "InternalSubnets", "InternalSsh", "InternalElb",
              "ExternalElb", "EcsAmi", "EcsAmiSsmParameter", "EcsInstanceType", "EcsInstanceEbsOptimized", "EcsMinSize", "EcsMaxSize",
              # issue 18: EcsDesiredCapacity went (DesiredCapacity reset scaling on every update); EcsStockAmi pins the stock image;
              # EcsDockerVolumeSize only with a custom AMI (ecs_ami), which mounts the docker volume
              "EcsStockAmi", "EcsRootVolumeSize", "EcsDockerAuthType", "EcsDockerAuthSecretArn", "ExtraCloudConfigType",
              "ExtraCloudConfigContent"},
    Bastion: {"Name", "Environment", "ExportPrefix", "KeyName", "SubnetId", "ExternalSsh", "InternalSsh", "BastionInstanceType", "BastionAmi",
              "BastionAmiSsmParameter", "BastionRootVolumeSize"},
}


@pytest.mark.parametrize("contract", STABLE_PARAMETERS, ids=lambda c: c.__name__)
def test_layer_parameter_names_are_stable(contract: type[Contract]) -> None:
    cfg = StackConfig(name="a", environment="b", key_name="k")
    assert {p.name for p in contract.declared(cfg)} == STABLE_PARAMETERS[contract]


def test_the_scale_and_day_two_interfaces_are_stable() -> None:
    """Shared load balancers, service groups and alarms: parameter, output and logical names other stacks and users rely on."""
    cfg = StackConfig(name="a", environment="b", shared_certificate_arn="arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012",
                      alarms=AlarmsConfig())
    ingress = IngressShape(cfg, internal=1, public=1)
    assert {p.name for p in Ingress.declared(ingress)} == {
        "Name", "Environment", "ExportPrefix", "InternalSubnets", "ExternalSubnets", "InternalElb", "ExternalElb", "LogBucket", "SharedCertificateArn",
        "SharedDeletionProtection"}
    assert {o.name for o in Ingress.outputs()} == {"InternalListeners", "InternalDnsNames", "InternalZoneIds", "PublicHttpListeners",
                                                   "PublicHttpsListeners", "PublicDnsNames", "PublicZoneIds", "InternalFullNames", "PublicFullNames"}
    assert (Ingress.logical_id, Ingress.filename, [p.name for p in ServiceGroup.declared(cfg)]) == ("IngressStack", "ingress.json", ["RootStackName"])
    assert {p.name for p in Network.declared(cfg)} - STABLE_PARAMETERS[Network] == {"AlarmTopicArn", "NatPortErrors"}
    assert {p.name for p in Cluster.declared(cfg)} - STABLE_PARAMETERS[Cluster] == {"AlarmTopic"}
    assert {p.name for p in Cluster.declared(cfg.with_changes(ecs_ami="ami-0123456789abcdef0"))} - STABLE_PARAMETERS[Cluster] == {
        "AlarmTopic", "EcsDockerVolumeSize"}
    shared = ServiceConfig(name="s", image="i", port=80, load_balancer="shared", alarms=ServiceAlarms())
    assert {p.name for p in Service.declared(shared)} >= {"Listeners", "BalancerDnsNames", "BalancerZoneIds", "BalancerIndex", "RulePriority",
                                                          "BalancerFullNames", "AlarmTopic", "CpuHigh", "MemoryHigh", "TasksMissingMinutes",
                                                          "Http5xx", "UnhealthyTargets"}


def test_service_parameter_names_are_stable() -> None:
    assert [p.name for p in Service.declared(SHAPES[0])] == [
        # issue 18: no DesiredCount with auto scaling (it reset the count on every update); CapacityProvider, the service's strategy
        "StackName", "Name", "Image", "Version", "Port", "HealthCheckPath", "DnsName", "Cpu", "Memory", "MinimumHealthyPercent",
        "MaximumPercent", "CircuitBreaker", "LogRetentionDays", "TaskRoleArn", "DeletionProtection", "MinCount", "MaxCount", "TargetCpu",
        "Environment", "Cluster", "CapacityProvider",
        "VpcId", "Subnets", "LoadBalancerSecurityGroup", "ZoneId", "DomainName", "LogBucket"]
    assert [p.name for p in Service.declared(SHAPES[3])] == [
        "StackName", "Name", "Image", "Version", "DesiredCount", "Cpu", "Memory", "MinimumHealthyPercent", "MaximumPercent", "CircuitBreaker",
        "LogRetentionDays", "TaskRoleArn", "Environment", "Cluster", "CapacityProvider"]


def test_root_outputs_are_the_seeds_nineteen_in_order() -> None:
    assert [o.name for o in Root.outputs()] == [
        "Region", "BastionIp", "ZoneId", "InternalElb", "ExternalElb", "InternalSubnets", "ExternalSubnets", "IamRole", "IamRoleDefaultEcsRoleId",
        "LogBucketId", "DomainName", "Environment", "Cluster", "AvailabilityZones", "VpcSecurityGroup", "VpcId", "EcsClusterSecurityGroupId",
        "InternalRouteTables", "ExternalRouteTables"]


@pytest.mark.parametrize("svc", SHAPES, ids=[s.name for s in SHAPES])
def test_every_wired_parameter_names_an_exported_output(svc: ServiceConfig) -> None:
    """A standalone template imports <StackName>-<output>: the output must be exported by its producer."""
    for param in Service.declared(svc):
        if isinstance(param.supply, Wired):
            out = param.supply.output(svc)
            assert out.export, f"{param.name} imports {out.name}, which {out.owner.__name__} does not export"


def test_the_root_passes_each_child_exactly_what_it_declares() -> None:
    cfg = StackConfig(name="a", environment="b", key_name="k", services=tuple(SHAPES))
    files = compile_stack(cfg).files
    root = json.loads(files["stack.json"])
    for logical, resource in root["Resources"].items():
        child = json.loads(files[resource["Properties"]["TemplateURL"]])["Parameters"]
        given = set(resource["Properties"]["Parameters"])
        assert given <= set(child), f"{logical} is given parameters it does not declare: {given - set(child)}"
        assert {k for k, v in child.items() if "Default" not in v} <= given, f"{logical} lacks a required parameter"


def test_an_output_nobody_produces_is_a_build_time_error() -> None:
    class Orphan(Contract):
        class Outputs:
            Missing = Out("declared, but no nested stack produces it")

    class Consumer(Contract):
        Needs = Param("wired to an output no layer of this root has", supply=Wired(lambda s: Orphan.Outputs.Missing))

    cfg = StackConfig(name="a", environment="b", key_name="k")
    consumer = Nested(Consumer, "ConsumerStack", Template(), "consumer.json", cfg)
    with pytest.raises(ContractError, match="Orphan.Missing is wired into a template, but no nested stack of this root produces it"):
        build_root(cfg=cfg, nested=instances(cfg, {}, {}, ROOT_NESTED), placed=[consumer], outputs=ROOT_CONTRACT)


def test_a_template_cannot_refer_to_another_contracts_parameter() -> None:
    """Declared checks the owner, not only the name: a service's Name inside a network template is a build-time error,
    though the network declares a parameter called Name too."""
    cfg = StackConfig(name="a", environment="b")
    p = declare(Template(), Network, cfg)
    assert p[Network.Name] == p[Layer.Name]  # a base contract's row is the network's own
    with pytest.raises(ContractError, match="Name is Service's parameter, not Network's"):
        p[Service.Name]
    with pytest.raises(ContractError, match="VpcId is Cluster's parameter, not Network's"):
        p[Cluster.VpcId]


def test_outputs_live_in_their_own_namespace() -> None:
    """A parameter and an output may share a name (Network.Cidr, Network.Outputs.Cidr); an Out beside the parameters is refused."""
    assert Network.Cidr.name == Network.Outputs.Cidr.name == "Cidr" and Network.Outputs.Cidr.owner is Network
    with pytest.raises(ContractError, match="put them in its `class Outputs:`"):
        class Misplaced(Contract):
            Stray = Out("an output among the parameters")


def test_stacksets_name_the_networks_parameters_from_its_declaration() -> None:
    cfg = StackConfig(name="a", environment="b", key_name="k", az_count=2)
    mapping = region_mapping(region_plans(cfg, ["us-east-1", "eu-west-1"]))
    network = {p.name for p in Network.declared(cfg)}
    assert set(mapping["eu-west-1"]) <= network
    assert mapping["eu-west-1"] == {"Cidr": "10.31.0.0/16", "InternalSubnet1Cidr": "10.31.0.0/19", "ExternalSubnet1Cidr": "10.31.32.0/20",
                                    "InternalSubnet2Cidr": "10.31.64.0/19", "ExternalSubnet2Cidr": "10.31.96.0/20"}


def test_generic_cluster_name_follows_the_stack_name() -> None:
    """Two stacks from templates/ no longer share a cluster named 'stack': empty EcsClusterName means <Name>-<Environment>, so two
    environments of one name do not share one either (issue 18, item 15)."""
    for name in ("cluster.json", "stack.json"):
        params = json.loads(compile_generic().files[name])["Parameters"]
        assert params["EcsClusterName"]["Default"] == ""
    cluster = json.loads(compile_generic().files["cluster.json"])["Resources"]["Cluster"]["Properties"]
    assert cluster["ClusterName"] == {"Fn::If": ["HasEcsClusterName", {"Ref": "EcsClusterName"},
                                                 {"Fn::Join": ["-", [{"Ref": "Name"}, {"Ref": "Environment"}]]}]}


def test_template_constraints_come_from_the_model_rules() -> None:
    """The same rule checks the setting and constrains the parameter."""
    from stack_cfn.model import rules as R

    network = json.loads(compile_generic().files["network.json"])["Parameters"]
    assert network["Name"]["AllowedPattern"] == R.AWS_NAME.cfn()["AllowedPattern"]
    assert network["LogsExpirationDays"]["MaxValue"] == R.EXPIRY_DAYS.high
    service = json.loads(compile_generic().files["service.json"])["Parameters"]
    assert service["HealthCheckPath"]["MaxLength"] == R.HTTP_PATH.max_length
    assert service["Cpu"]["MinValue"] == R.TASK_CPU.low and service["Cpu"]["MaxValue"] == R.TASK_CPU.high
