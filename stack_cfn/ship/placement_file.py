"""The placement file: which stack holds each service, kept beside the stack file so placement stays stable.

`<stack file stem>.placement.yaml` is written by stack-cfn (build and deploy),
only while the description needs service-group stacks or once the file exists,
and only over a file that carries its marker. Commit it with the stack file: a
checkout without it places services anew in description order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model.placement import Placement
from stack_cfn.ship.files import write_generated

MARKER = "# Written by stack-cfn: the stack that holds each service"


def placement_path(config: str | Path) -> Path:
    config = Path(config)
    return config.with_name(f"{config.stem}.placement.yaml")


def read_placement(config: str | Path) -> dict[str, int]:
    """Service name -> stack number recorded beside a stack file ({} without a placement file)."""
    path = placement_path(config)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "fix or remove the file") from None
    fix = "remove it: stack-cfn writes it anew (placing services in description order)"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise ConfigError(str(path), "is not valid YAML", fix) from None
    services = data.get("services", {}) if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise ConfigError(str(path), "has no mapping 'services' of service: stack number", fix)
    for name, number in services.items():
        if type(number) is not int or number < 0:
            raise ConfigError(f"{path.name}: services.{name}", f"is {number!r}, not a stack number (0 is the root, 1 and up service groups)", fix)
    return {str(name): number for name, number in services.items()}


def placement_text(placement: Placement) -> str:
    body = {"services": dict(placement.groups)}
    return (f"{MARKER} (0: the root, n: <stack>-services-n).\n# Commit it with the stack file; moving a service to another "
            "stack replaces it.\n" + yaml.safe_dump(body, sort_keys=False, default_flow_style=False))


def record_placement(config: str | Path, placement: Placement, recorded: Mapping[str, int]) -> Path | None:
    """Write the placement when it is needed (service groups) or a file already exists and it changed; the path written, or None."""
    path = placement_path(config)
    if dict(placement.groups) == dict(recorded) and path.exists():
        return None
    if not placement.split and not path.exists():
        return None
    write_generated(path, placement_text(placement), MARKER)
    return path
