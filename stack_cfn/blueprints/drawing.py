"""What each module shows in the docs (docs.py): its part of the stack diagram (Mermaid lines) and its table
in a stack's module list. Pure functions of a StackConfig; the registry (registry.py) names them per module,
and a module without its own is drawn as one node per instance."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stack_cfn.model.config import StackConfig
from stack_cfn.model.variants import Balancer


def nothing(cfg: StackConfig) -> list[str]:
    return []


@dataclass(frozen=True)
class Drawing:
    """A module's lines of the diagram: `top` before the VPC, `vpc` inside it, `outside` after it (global resources)."""

    top: Callable[[StackConfig], list[str]] = nothing
    vpc: Callable[[StackConfig], list[str]] | None = None  # None: one node per instance, inside the VPC
    outside: Callable[[StackConfig], list[str]] = nothing


@dataclass(frozen=True)
class Docs:
    """A module's docs: a summary line, its stack-file settings sections, the stack-file key listing its
    instances (empty for a layer, whose settings are the stack's own), its diagram part and its table."""

    summary: str
    settings: tuple[tuple[str, type], ...] = ()
    key: str = ""
    noun: str = ""  # how a stack's docs count its instances: "3 service(s)"
    drawing: Drawing = field(default_factory=Drawing)
    table: Callable[[StackConfig], list[str]] = nothing


def node_id(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ") if text != "" else '""'


def network_drawing(cfg: StackConfig) -> list[str]:
    nat = "NAT instance" if cfg.use_nat_instances else "NAT gateway"
    one = not cfg.use_nat_instances and cfg.nat_gateways == "one"  # zone 1's gateway serves every zone
    lines: list[str] = []
    for i in range(cfg.zone_count):
        zone = cfg.availability_zones[i] if cfg.availability_zones else f"zone {i + 1}"
        own = i == 0 or not one
        lines += [f'    subgraph az{i + 1}["{zone}"]', f'      ext{i + 1}["external {cfg.plan.external[i]}"]',
                  f'      int{i + 1}["internal {cfg.plan.internal[i]}"]', *([f'      nat{i + 1}(["{nat}{" for every zone" if one else ""}"])'] if own else []),
                  f"      int{i + 1} --> nat{i + 1} --> ext{i + 1}" if own else f"      int{i + 1} --> nat1", "    end"]
    if cfg.s3_endpoint:
        lines += ['    s3endpoint(["S3 gateway endpoint"])', *(f"    int{i + 1} -.-> s3endpoint" for i in range(cfg.zone_count))]
    return lines



def cluster_drawing(cfg: StackConfig) -> list[str]:
    scaling = "capacity provider" if cfg.ecs_scaling == "managed" else "reservation alarms"
    return [f'    cluster["ECS cluster {cfg.cluster_name}<br/>{cfg.ecs_instance_type} x {cfg.ecs_min_size}..{cfg.ecs_max_size}, {scaling}"]',
            *(f"    int{i + 1} --- cluster" for i in range(cfg.zone_count))]


def bastion_drawing(cfg: StackConfig) -> list[str]:
    return [f'    bastion["bastion {cfg.bastion_instance_type}<br/>Session Manager{", SSH from " + cfg.ssh_cidr if cfg.ssh_cidr else ""}"]',
            "    ext1 --- bastion", "    bastion -.-> cluster"] if cfg.bastion else []


def internet_drawing(cfg: StackConfig) -> list[str]:
    return ["  internet((internet))"] if any(svc.is_public for svc in cfg.services) else []


def service_drawing(cfg: StackConfig) -> list[str]:
    lines = []
    for svc in cfg.services:
        node = f"svc_{node_id(svc.name)}"
        if svc.balancer is None:
            lines.append(f'    {node}["{svc.name}<br/>worker"]')
            lines.append(f"    cluster --- {node}")
            continue
        scheme = "internet-facing" if svc.is_public else "internal"
        kind = {Balancer.OWN_ALB: "ALB", Balancer.CLASSIC: "classic ELB", Balancer.SHARED_ALB: "shared ALBs"}[svc.balancer]
        https = "host rules" if svc.is_shared else "HTTPS" if svc.ssl_certificate_id else "HTTP"
        lb = f"shared_{svc.exposure.scheme}" if svc.is_shared else f"lb_{node_id(svc.name)}"
        lines += [f'    {node}["{svc.name}<br/>{svc.record_name}.{cfg.domain_name}"]', f'    {lb}{{{{"{scheme} {kind}<br/>{https}"}}}}',
                  f"    {lb} --> {node}", f"    cluster --- {node}"]
        if svc.is_public:
            lines.append(f"    internet --> {lb}")
        lines += [f"    {node} --> db_{node_id(d)}" for d in svc.databases]
    return lines


def database_drawing(cfg: StackConfig) -> list[str]:
    lines = []
    for db in cfg.databases:
        kind = f"Aurora {db.engine.split('-')[1]} x{db.instance_count}" if db.is_cluster else f"{db.engine} {db.version}"
        lines.append(f'    db_{node_id(db.name)}[("{db.name}<br/>{kind}<br/>{db.record_name}.{cfg.domain_name}")]')
    return lines


def user_drawing(cfg: StackConfig) -> list[str]:
    """IAM users are global to the account, outside the VPC."""
    return [f'  user_{node_id(u.name)}["IAM user {u.name}<br/>key in Secrets Manager"]' for u in cfg.iam_users]


def service_table(cfg: StackConfig) -> list[str]:
    lines = ["| service | kind | image | port | load balancer | private name | databases |", "|---|---|---|---|---|---|---|"]
    for s in cfg.services:
        lb = s.balancer.value if s.balancer else ""
        name = f"{s.record_name}.{cfg.domain_name}" if s.has_balancer else ""
        lines.append(f"| `{s.name}` | {s.kind} | {cell(s.image)}:{cell(s.version)} | {s.port or ''} | {lb} | {name} | {', '.join(s.databases)} |")
    return lines if cfg.services else []


def database_table(cfg: StackConfig) -> list[str]:
    lines = ["| database | engine | version | private name |", "|---|---|---|---|"]
    return [*lines, *(f"| `{d.name}` | {d.engine} | {d.version} | {d.record_name}.{cfg.domain_name} |" for d in cfg.databases)] if cfg.databases else []


def user_table(cfg: StackConfig) -> list[str]:
    return ["| IAM user | policies |", "|---|---|", *(f"| `{u.name}` | {len(u.policies)} |" for u in cfg.iam_users)] if cfg.iam_users else []
