"""Which stack each service lives in: the root, or a service-group stack, stably.

One CloudFormation operation may create, update or delete at most 2,500
resources across a tree of nested stacks, and one template may hold at most 500
resources (model/quotas.py). A description past that is split: the root keeps
the services it can hold, and the rest go to service-group stacks
(`<stack>-services-<n>`), each a top-level stack of its own that imports the
root's exports.

Moving a service to another stack deletes it and creates it anew, so placement
is stable: a service recorded in the placement file (`<stack file
stem>.placement.yaml`, written by stack-cfn) stays where it is; only new
services are placed, each in the lowest-numbered stack with room. Without a
placement file, services fill the root in description order, which is where a
description that fit in one stack already has them. Group 0 is the root.

The root may be filled to the quota itself (it is where a single-stack
description already is); a group is filled only to GROUP_FILL resources, so
its services can grow by edits without pushing it over the quota.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stack_cfn.errors import ConfigError
from stack_cfn.model import quotas

ROOT = 0
GROUP_FILL = 2000  # resources a group's operation is filled to when placing; 500 stay free for edits


@dataclass(frozen=True)
class Cost:
    """What a service adds to the operation of the stack that holds it: its nested stack and the resources in it."""

    name: str
    resources: int

    @property
    def operation(self) -> int:
        return 1 + self.resources


@dataclass
class Room:
    """A stack's use of the quotas: resources per operation, resources in its own template, services."""

    operation: int = 0
    template: int = 0
    services: int = 0

    def take(self, cost: Cost) -> None:
        self.operation += cost.operation
        self.template += 1
        self.services += 1


@dataclass(frozen=True)
class Limits:
    root_operation: int = quotas.RESOURCES_PER_OPERATION.limit
    group_operation: int = GROUP_FILL
    template: int = quotas.RESOURCES_PER_TEMPLATE.limit
    services: int | None = None  # service_group_size

    def fits(self, group: int, room: Room, cost: Cost) -> bool:
        operation = self.root_operation if group == ROOT else self.group_operation
        return (room.operation + cost.operation <= operation and room.template + 1 <= self.template
                and (self.services is None or room.services < self.services))


@dataclass(frozen=True)
class Seat:
    """A service's place on the shared load balancers: internal or public, which one (from 0), its rule priority."""

    scheme: str
    index: int
    priority: int


@dataclass(frozen=True)
class Placement:
    """Service name -> stack number (0: the root), in description order; shared-ALB services -> their seat."""

    groups: Mapping[str, int] = field(default_factory=dict)
    seats: Mapping[str, Seat] = field(default_factory=dict)

    def balancers(self, scheme: str) -> int:
        """How many shared load balancers of a scheme there are."""
        return max((s.index + 1 for s in self.seats.values() if s.scheme == scheme), default=0)

    def members(self, group: int) -> list[str]:
        return [name for name, g in self.groups.items() if g == group]

    @property
    def numbers(self) -> list[int]:
        """The service-group stacks holding services, ascending (the root is not one)."""
        return sorted({g for g in self.groups.values() if g != ROOT})

    @property
    def split(self) -> bool:
        return bool(self.numbers)


def place(costs: Sequence[Cost], recorded: Mapping[str, int], root_base: Room, limits: Limits) -> Placement:
    """Recorded services stay; new ones go to the lowest-numbered stack with room, a new group when none has."""
    rooms: dict[int, Room] = {ROOT: Room(root_base.operation, root_base.template, 0)}
    chosen: dict[str, int] = {}
    for cost in costs:
        if cost.name in recorded:
            group = recorded[cost.name]
            rooms.setdefault(group, Room()).take(cost)
            chosen[cost.name] = group
    for cost in costs:
        if cost.name in chosen:
            continue
        found = next((g for g in sorted(rooms) if limits.fits(g, rooms[g], cost)), None)
        group = found if found is not None else max(rooms) + 1
        if found is None:
            rooms[group] = Room()
            if not limits.fits(group, rooms[group], cost):
                raise ConfigError(f"services: {cost.name}", quotas.RESOURCES_PER_OPERATION.message(cost.operation, "its resources"),
                                  "split the service")
        rooms[group].take(cost)
        chosen[cost.name] = group
    return Placement({c.name: chosen[c.name] for c in costs})


PER_BALANCER = min(quotas.RULES_PER_ALB.limit, quotas.TARGET_GROUPS_PER_ALB.limit)  # one host rule and one target group a service


def seat(services: Sequence[tuple[str, str]], recorded: Mapping[str, Seat], per_balancer: int = PER_BALANCER) -> dict[str, Seat]:
    """(name, scheme) of each shared-ALB service -> its seat. A recorded seat of the same scheme stays (a move
    replaces the service's rule and target group); a new one takes the lowest free priority on the
    lowest-numbered balancer of its scheme with room, a new balancer when none has."""
    kept = {name: recorded[name] for name, scheme in services if name in recorded and recorded[name].scheme == scheme}
    taken: dict[tuple[str, int], set[int]] = {}
    for s in kept.values():
        taken.setdefault((s.scheme, s.index), set()).add(s.priority)
    seats = {}
    for name, scheme in services:
        if name in kept:
            seats[name] = kept[name]
            continue
        index = 0
        while len(taken.get((scheme, index), ())) >= per_balancer:
            index += 1
        used = taken.setdefault((scheme, index), set())
        priority = next(n for n in range(1, quotas.RULE_PRIORITIES + 1) if n not in used)
        used.add(priority)
        seats[name] = Seat(scheme, index, priority)
    return seats


def check_seats(seats: Mapping[str, Seat], where: str, fix: str) -> None:
    """A listener rule's priority is unique on its listener: two services with one (scheme, balancer, priority)
    would make CloudFormation fail with "Priority '<n>' is currently in use" (ELB CreateRule API: PriorityInUse)."""
    taken: dict[tuple[str, int, int], str] = {}
    for name, s in seats.items():
        key = (s.scheme, s.index, s.priority)
        if key in taken:
            raise ConfigError(f"{where}.{name}", f"has priority {s.priority} on {s.scheme} load balancer {s.index}, as {taken[key]} has", fix)
        taken[key] = name
