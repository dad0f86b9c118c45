"""From a stack description to named JSON templates: the one path every command uses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from troposphere import Template

from stack_cfn.blueprints.bastion import build_bastion
from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.root import Nested, build_root, canonical_json, layer_wiring, service_wiring
from stack_cfn.blueprints.service import build_service, service_parameters, wiring_for
from stack_cfn.model.config import ServiceConfig, StackConfig

ROOT_FILE = "stack.json"
LAYER_FILES = {"NetworkStack": "network.json", "ClusterStack": "cluster.json", "BastionStack": "bastion.json"}


@dataclass(frozen=True)
class Compiled:
    """Templates by file name; `root` names the root template."""

    files: Mapping[str, str]
    root: str = ROOT_FILE


def content_name(stem: str, body: str) -> str:
    """`<stem>-<12 hex of sha256>.json`: identical templates share one file."""
    return f"{stem}-{hashlib.sha256(body.encode()).hexdigest()[:12]}.json"


def compile_layers(cfg: StackConfig) -> dict[str, Template]:
    return {
        "NetworkStack": build_network(cfg),
        "ClusterStack": build_cluster(cfg),
        "BastionStack": build_bastion(cfg),
    }


def compile_stack(cfg: StackConfig, region_network: Mapping[str, Mapping[str, str]] | None = None) -> Compiled:
    """All templates of `cfg`; `region_network` makes the StackSet variant of the root (see stackset.py)."""
    layers = compile_layers(cfg)
    wiring = layer_wiring()
    files: dict[str, str] = {}
    nested = []
    for logical, template in layers.items():
        filename = LAYER_FILES[logical]
        files[filename] = canonical_json(template)
        nested.append(Nested(logical, template, filename, wiring[logical]))
    services = []
    for svc in cfg.services:
        template = build_service(svc)
        body = canonical_json(template)
        filename = content_name(svc.kind, body)  # alike services share one file
        files[filename] = body
        wiring = service_wiring(svc.kind, wiring_for(svc.kind, svc.load_balancer))
        services.append(Nested(svc.logical_id, template, filename, wiring, literal=service_parameters(svc)))
    files[ROOT_FILE] = canonical_json(build_root(cfg, nested, services, region_network))
    return Compiled(files=dict(sorted(files.items())))


# The seed's required inputs: the generic templates leave them without defaults.
REQUIRED_PARAMETERS = ("Name", "Environment", "KeyName")
GENERIC_CONFIG = StackConfig(name="stack", environment="prod", key_name="required")
# The seed's building blocks as drop-in templates: templates/service.json and friends.
GENERIC_SERVICES = {
    "service": ServiceConfig(name="service", image="image", port=80),
    "web-service": ServiceConfig(name="web", image="image", port=80, kind="web-service"),
    "worker": ServiceConfig(name="worker", image="image", kind="worker"),
}


def _strip_required_defaults(t: Template) -> Template:
    for key in REQUIRED_PARAMETERS:
        if key in t.parameters:
            t.parameters[key].properties.pop("Default", None)
    return t


def compile_generic() -> Compiled:
    """The drop-in templates of templates/: the seed's defaults, required inputs left to the user."""
    layers = compile_layers(GENERIC_CONFIG)
    wiring = layer_wiring()
    nested = [Nested(k, t, LAYER_FILES[k], wiring[k]) for k, t in layers.items()]
    root = build_root(GENERIC_CONFIG, nested)
    files = {LAYER_FILES[k]: canonical_json(_strip_required_defaults(t)) for k, t in layers.items()}
    files[ROOT_FILE] = canonical_json(_strip_required_defaults(root))
    for kind, svc in GENERIC_SERVICES.items():
        files[f"{kind}.json"] = canonical_json(build_service(svc))
    return Compiled(files=dict(sorted(files.items())))
