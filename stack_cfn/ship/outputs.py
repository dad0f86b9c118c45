"""`stack-cfn outputs`: the stack's front page, from the outputs of the root, its nested stacks and its service groups.

Grouped by layer and module: the network (and the alarm topic), the cluster, the bastion, the shared
load balancers, each service with its URL(s), each database with endpoint, port and secret ARN, each
IAM user with key id and secret ARN. Reading is ship/ (AWS calls); grouping and wording are pure
functions of what was read (front_page, front_page_text), so they are tested without AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.exceptions

from stack_cfn.blueprints.bastion_contract import Bastion
from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.database_contract import Database
from stack_cfn.blueprints.iam_user_contract import IamUser
from stack_cfn.blueprints.ingress_contract import Ingress
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.service_contract import Service
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import DatabaseConfig, IamUserConfig
from stack_cfn.ship.aws import AwsTarget
from stack_cfn.ship.deploy import group_stacks, read_outputs, stack_outputs

LAYERS = {Network.logical_id: "network", Cluster.logical_id: "cluster", Bastion.logical_id: "bastion", Ingress.logical_id: "load_balancers"}
MODULES = (("Service", "services"), ("Database", "databases"), ("User", "iam_users"))  # logical id suffix -> section
NETWORK_SHOWN = (Network.Outputs.VpcId, Network.Outputs.Cidr, Network.Outputs.InternalSubnets, Network.Outputs.ExternalSubnets, Network.Outputs.InternalNatIps, Network.Outputs.ZoneId,
                 Network.Outputs.DomainName, Network.Outputs.LogBucketId)
CLUSTER_SHOWN = (Cluster.Outputs.Cluster, Cluster.Outputs.AutoscalingGroup, Cluster.Outputs.EcsClusterSecurityGroupId)


def nested_outputs(target: AwsTarget, stack: str) -> dict[str, dict[str, str]]:
    """Each nested stack's outputs, by its logical id in `stack`."""
    cfn = target.client("cloudformation")
    found: dict[str, dict[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            if r["ResourceType"] == "AWS::CloudFormation::Stack" and r.get("PhysicalResourceId"):
                try:
                    found[r["LogicalResourceId"]] = stack_outputs(cfn, r["PhysicalResourceId"])
                except botocore.exceptions.ClientError:
                    found[r["LogicalResourceId"]] = {}  # being created or deleted: nothing to show yet
    return found


def read_front_page(target: AwsTarget, stack: str, cfg: StackConfig | None) -> dict[str, Any]:
    """What `outputs` shows: read from the root, its nested stacks and its service groups."""
    root = read_outputs(target, stack)  # fails in one line when the stack does not exist
    groups = group_stacks(target, stack)
    nested = nested_outputs(target, stack)
    for group in groups:
        nested.update(nested_outputs(target, group))
    return front_page(stack, target.region, root, nested, groups, cfg)


def _names(cfg: StackConfig | None) -> dict[str, str]:
    """Logical id -> the name in the stack file (services, databases, IAM users)."""
    if cfg is None:
        return {}
    members: list[ServiceConfig | DatabaseConfig | IamUserConfig] = [*cfg.services, *cfg.databases, *cfg.iam_users]
    return {m.logical_id: m.name for m in members}


def _module(logical_id: str, names: Mapping[str, str]) -> tuple[str, str] | None:
    for suffix, section in MODULES:
        if logical_id.endswith(suffix) and logical_id != suffix:
            return section, names.get(logical_id) or logical_id[: -len(suffix)].lower()
    return None


def service_urls(outputs: Mapping[str, str], plain_http: bool) -> list[str]:
    """Where a service answers: its public name (https unless it serves plain HTTP), then its name in the private zone."""
    urls = []
    if outputs.get(Service.Outputs.ExternalFqdn.name):
        urls.append(f"{'http' if plain_http else 'https'}://{outputs[Service.Outputs.ExternalFqdn.name]}/")
    private = outputs.get(Service.Outputs.InternalFqdn.name) or outputs.get(Service.Outputs.Fqdn.name)
    if private:
        urls.append(f"http://{private}/")
    return urls


def _entry(section: str, outputs: Mapping[str, str], plain_http: bool) -> dict[str, Any]:
    if section == "services":
        return {"urls": service_urls(outputs, plain_http), "outputs": dict(sorted(outputs.items()))}
    if section == "databases":
        keys = {"endpoint": Database.Outputs.Endpoint.name, "port": Database.Outputs.Port.name, "secret_arn": Database.Outputs.SecretArn.name}
    else:
        keys = {"access_key_id": IamUser.Outputs.AccessKeyId.name, "secret_arn": IamUser.Outputs.SecretArn.name}
    return {**{k: outputs.get(v) for k, v in keys.items()}, "outputs": dict(sorted(outputs.items()))}


def front_page(stack: str, region: str, root: Mapping[str, str], nested: Mapping[str, Mapping[str, str]], groups: list[str],
               cfg: StackConfig | None) -> dict[str, Any]:
    """The outputs grouped by layer and module; modules in the stack file's order when there is one, else by name."""
    names = _names(cfg)
    plain = {s.name for s in cfg.services if s.serves_plain_http} if cfg else set()
    page: dict[str, Any] = {"stack": stack, "region": region, "root": dict(root), "service_groups": list(groups)}
    page.update({layer: dict(sorted(nested.get(lid, {}).items())) for lid, layer in LAYERS.items() if lid in nested})
    page["alarm_topic"] = nested.get(Network.logical_id, {}).get(Network.Outputs.AlarmTopic.name)
    order = list(names) + sorted(lid for lid in nested if lid not in names)
    for _, section in MODULES:
        page[section] = {}
    for lid in order:
        module = _module(lid, names) if lid in nested and lid not in LAYERS else None
        if module:
            page[module[0]][module[1]] = _entry(module[0], nested[lid], module[1] in plain)
    return page


def front_page_text(page: Mapping[str, Any]) -> str:
    """The front page for people: a heading per layer and module, the values that matter first."""
    lines = [f"stack {page['stack']} ({page['region']})"]
    network = page.get("network", {})
    lines += ["", "network", *_pairs({k.name: network.get(k.name) for k in NETWORK_SHOWN})]
    lines += ["", "cluster", *_pairs({k.name: page.get("cluster", {}).get(k.name) for k in CLUSTER_SHOWN})]
    if page.get("bastion"):
        lines += ["", "bastion", *_pairs(page["bastion"])]
    if page.get("load_balancers"):
        lines += ["", "shared load balancers", *_pairs(page["load_balancers"])]
    for name, svc in page["services"].items():
        lines += ["", f"service {name}", *_pairs({"url": ", ".join(svc["urls"]) or "(no load balancer)",
                                                  "log group": svc["outputs"].get(Service.Outputs.LogGroup.name)})]
    for name, db in page["databases"].items():
        lines += ["", f"database {name}", *_pairs({"endpoint": db["endpoint"], "port": db["port"], "secret": db["secret_arn"]})]
    for name, user in page["iam_users"].items():
        lines += ["", f"iam user {name}", *_pairs({"access key id": user["access_key_id"], "secret": user["secret_arn"]})]
    lines += ["", "alarms", *_pairs({"topic": page.get("alarm_topic") or "(no alarms: section)"})]
    if page["service_groups"]:
        lines += ["", f"service groups (importing {page['stack']}'s exports): {', '.join(page['service_groups'])}"]
    return "\n".join(lines) + "\n"


def _pairs(values: Mapping[str, Any]) -> list[str]:
    shown = {k: v for k, v in values.items() if v not in (None, "")}
    width = max((len(k) for k in shown), default=0)
    return [f"  {k:<{width}}  {v}" for k, v in shown.items()]
