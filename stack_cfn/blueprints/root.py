"""The root stack: nests network, cluster, bastion and services, returns the seed's outputs.

Nested TemplateURLs are file names relative to the root template, the form
`aws cloudformation package` and `stack-cfn upload` rewrite to S3 URLs.

Exports: every layer exports its outputs as `<root stack name>-<Output>`
(the root passes its name as ExportPrefix); the root itself exports the two
outputs no layer has, Region and Environment. So all 19 seed outputs can be
imported as `<root stack name>-<Output>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from troposphere import (
    FindInMap,
    GetAtt,
    Join,
    Parameter,
    Ref,
    Region,
    Select,
    Split,
    StackName,
    Template,
    cloudformation,
)

from stack_cfn.blueprints.common import EXPORT_PREFIX, add_output, new_template
from stack_cfn.blueprints.service import export_for
from stack_cfn.model.config import StackConfig

# (output, nested stack, description): the seed's 19 outputs in its order.
ROOT_OUTPUTS = (
    ("Region", None, "AWS region of the stack"),
    ("BastionIp", "BastionStack", "Public IP of the bastion"),
    ("ZoneId", "NetworkStack", "Private hosted zone id"),
    ("InternalElb", "NetworkStack", "Security group of internal load balancers"),
    ("ExternalElb", "NetworkStack", "Security group of public load balancers"),
    ("InternalSubnets", "NetworkStack", "Internal subnet ids, comma separated"),
    ("ExternalSubnets", "NetworkStack", "External subnet ids, comma separated"),
    ("IamRole", "ClusterStack", "ECS service role ARN"),
    ("IamRoleDefaultEcsRoleId", "ClusterStack", "Container instance role id"),
    ("LogBucketId", "NetworkStack", "Bucket of load balancer access logs"),
    ("DomainName", "NetworkStack", "Private domain"),
    ("Environment", None, "Environment name"),
    ("Cluster", "ClusterStack", "ECS cluster name"),
    ("AvailabilityZones", "NetworkStack", "Availability zones, comma separated"),
    ("VpcSecurityGroup", "NetworkStack", "The VPC's default security group"),
    ("VpcId", "NetworkStack", "The VPC"),
    ("EcsClusterSecurityGroupId", "ClusterStack", "Security group of the container instances"),
    ("InternalRouteTables", "NetworkStack", "Internal route tables, comma separated"),
    ("ExternalRouteTables", "NetworkStack", "External route table"),
)


@dataclass(frozen=True)
class Nested:
    """A child template and the file it is written to."""

    logical_id: str
    template: Template
    filename: str
    wiring: Mapping[str, object]  # child parameter -> value from other layers
    literal: Mapping[str, object] | None = None  # child parameter -> fixed value (services)


def passthrough_parameters(child: Template) -> list[Parameter]:
    """The child's parameters a user sets: those with a default (wiring ones have none)."""
    return [p for key, p in child.parameters.items() if key != EXPORT_PREFIX and "Default" in p.properties]


REGION_NETWORK = "RegionNetwork"


def build_root(
    cfg: StackConfig, layers: Sequence[Nested], services: Sequence[Nested] = (), region_network: Mapping[str, Mapping[str, str]] | None = None
) -> Template:
    """The root template. With `region_network` (region -> network CIDR parameters, for a
    StackSet), the network's CIDRs come from that mapping by AWS::Region instead of parameters."""
    t = new_template(f"stack-cfn root: {cfg.name} {cfg.environment}, nested network, cluster, bastion and {len(services)} service(s)")
    by_region: set[str] = set()
    if region_network:
        t.add_mapping(REGION_NETWORK, {region: dict(values) for region, values in region_network.items()})
        by_region = set(next(iter(region_network.values())))
    declared: dict[str, dict] = {}
    for child in layers:
        for p in passthrough_parameters(child.template):
            if p.title in by_region:
                continue
            body = p.to_dict()
            if body["Type"].startswith("AWS::SSM::Parameter::Value<"):
                # The root passes the parameter's *name* on; the child resolves it.
                # Declared with the SSM type here, Ref would hand the child the
                # resolved AMI id, which the child would then look up as a name.
                body["Type"] = "String"
            if p.title in declared and declared[p.title] != body:
                raise ValueError(f"layers disagree on parameter {p.title}")  # a programming error
            if p.title not in declared:
                declared[p.title] = body
                t.add_parameter(Parameter(p.title, **body))
    for child in (*layers, *services):
        params: dict[str, object] = {EXPORT_PREFIX: StackName} if EXPORT_PREFIX in child.template.parameters else {}
        if child.literal is None:
            params.update({
                p.title: FindInMap(REGION_NETWORK, Region, p.title) if p.title in by_region else Ref(p.title)
                for p in passthrough_parameters(child.template)
            })
        else:
            params.update(child.literal)
        params.update(child.wiring)
        t.add_resource(
            cloudformation.Stack(
                child.logical_id,
                TemplateURL=child.filename,
                Parameters=dict(sorted(params.items())),
            )
        )
    for name, stack, description in ROOT_OUTPUTS:
        if stack is None:
            value = Region if name == "Region" else Ref("Environment")
            add_output(t, name, value, description, export=Join("-", [StackName, name]))
        else:
            add_output(t, name, GetAtt(stack, f"Outputs.{name}"), description, export=False)
    return t


def layer_wiring() -> dict[str, dict[str, object]]:
    """How the layers feed each other: child -> {parameter: value}."""
    net = lambda output: GetAtt("NetworkStack", f"Outputs.{output}")
    return {
        "NetworkStack": {},
        "ClusterStack": {
            "VpcId": net("VpcId"),
            "InternalSubnets": net("InternalSubnets"),
            "InternalSsh": net("InternalSsh"),
            "InternalElb": net("InternalElb"),
            "ExternalElb": net("ExternalElb"),
        },
        "BastionStack": {
            "SubnetId": Select(0, Split(",", net("ExternalSubnets"))),
            "ExternalSsh": net("ExternalSsh"),
            "InternalSsh": net("InternalSsh"),
        },
    }


def service_wiring(kind: str, parameters: Sequence[str]) -> dict[str, object]:
    """A nested service's wiring parameters, from the layers' outputs (the same outputs a standalone service imports)."""
    producer = {name: stack for name, stack, _ in ROOT_OUTPUTS if stack}
    wiring: dict[str, object] = {"StackName": StackName}
    for parameter in parameters:
        output = export_for(kind, parameter)
        wiring[parameter] = Ref("Environment") if output == "Environment" else GetAtt(producer[output], f"Outputs.{output}")
    return wiring


def canonical_json(t: Template) -> str:
    """Deterministic JSON: sorted keys, one-space indent (the 3-AZ network stays under the 51,200-byte TemplateBody limit), trailing newline."""
    return json.dumps(t.to_dict(), indent=1, sort_keys=True) + "\n"
