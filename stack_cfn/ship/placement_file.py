"""The placement file: which stack and which shared load balancer hold each service, kept beside the stack file.

`<stack file stem>.placement.yaml` is written by stack-cfn (build and deploy) once services span
several stacks or sit on shared load balancers (or the file exists), and only over a file that
carries its marker. Commit it with the stack file: a checkout without it places services anew in
description order, and moving a service replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stack_cfn.errors import ConfigError
from stack_cfn.model import names
from stack_cfn.model.loading import strict_yaml
from stack_cfn.model.placement import Placement, Seat, check_seats
from stack_cfn.model.reading import read_side_file
from stack_cfn.ship.files import write_generated

MARKER = "# Written by stack-cfn: the stack that holds each service"
FIX = "remove it: stack-cfn writes it anew (placing services in description order)"


def placement_path(config: str | Path) -> Path:
    return names.placement_path(config)


def read_placement(config: str | Path) -> Placement:
    """What is recorded beside a stack file (nothing without a placement file)."""
    path = placement_path(config)
    try:
        text = read_side_file(path, FIX)  # never a FIFO or device: see model/reading.py
    except FileNotFoundError:
        return Placement()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "fix or remove the file") from None
    data = strict_yaml(text, path, FIX)
    services = data.get("services", {}) if isinstance(data, dict) else None
    balancers = data.get("load_balancers", {}) if isinstance(data, dict) else None
    if not isinstance(services, dict) or not isinstance(balancers, dict):
        raise ConfigError(str(path), "has no mappings 'services' (service: stack number) and 'load_balancers'", FIX)
    for name, number in services.items():
        if not _count(number):
            raise ConfigError(f"{path.name}: services.{name}", f"is {number!r}, not a stack number (0 is the root, 1 and up service groups)", FIX)
    seats = {str(k): _seat(path, str(k), v) for k, v in balancers.items()}
    check_seats(seats, f"{path.name}: load_balancers", FIX)
    return Placement({str(k): int(v) for k, v in services.items()}, seats)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seat(path: Path, name: str, value: Any) -> Seat:
    ok = (isinstance(value, dict) and value.get("scheme") in ("internal", "public") and _count(value.get("balancer"))
          and _count(value.get("priority")) and 1 <= value["priority"] <= 50000)
    if not ok:
        raise ConfigError(f"{path.name}: load_balancers.{name}", f"is {value!r}, not {{scheme: internal|public, balancer: n, priority: 1-50000}}", FIX)
    return Seat(value["scheme"], int(value["balancer"]), int(value["priority"]))


def precedence_notes(path: Path, placement: Placement, recorded: Placement, group_size: int | None) -> list[str]:
    """What the placement file decides over the stack file, said rather than silent: a recorded service stays in its stack
    even where service_group_size now allows fewer (moving a service replaces it)."""
    if group_size is None:
        return []
    notes = []
    for number in sorted(set(placement.groups.values())):
        kept = [name for name in placement.members(number) if recorded.groups.get(name) == number]
        if len(placement.members(number)) > group_size and kept:
            where = "the root" if number == 0 else f"service group {number}"
            notes.append(f"{path.name} keeps {len(placement.members(number))} services in {where}, more than service_group_size {group_size}: "
                         f"recorded services stay where they are (moving one replaces it); remove a service's line from {path.name} to place it anew")
    return notes


def placement_text(placement: Placement) -> str:
    body = {"services": dict(placement.groups),
            "load_balancers": {name: {"scheme": s.scheme, "balancer": s.index, "priority": s.priority} for name, s in placement.seats.items()}}
    return (f"{MARKER} (0: the root, n: <stack>-services-n) and the shared load balancer\n# seat of each load_balancer: shared service. "
            "Commit it with the stack file; moving a service replaces it.\n" + yaml.safe_dump(body, sort_keys=False, default_flow_style=False))


def record_placement(config: str | Path, placement: Placement, recorded: Placement) -> Path | None:
    """Write the placement when it is needed (service groups, shared load balancers) or a file exists and it changed; the path, or None."""
    path = placement_path(config)
    if placement == recorded and path.exists():
        return None
    if not placement.split and not placement.seats and not path.exists():
        return None
    write_generated(path, placement_text(placement), MARKER)
    return path
