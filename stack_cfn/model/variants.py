"""The variants of a service, as types: who reaches it (Exposure) and through what (Balancer).

The stack file keeps its words, `kind: service | web-service | worker` and
`load_balancer: application | shared | classic` (a stable user API); each enum's
values ARE those words, so the model's rules (model/rules.py SERVICE_KIND,
LOAD_BALANCER_KIND) list them from here and nowhere else. `variant` turns the
words into the types once; every other module asks the types (and the
ServiceConfig properties built on them), never compares the words.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

# Tasks a service runs when it gives no desired_count: a balanced service keeps a second task up through a
# deployment or the loss of an instance; a worker, which nothing waits on, runs one.
BALANCED_DESIRED_COUNT = 2
WORKER_DESIRED_COUNT = 1


class Exposure(Enum):
    """Who reaches the service; the value is the stack file's `kind`."""

    INTERNAL = "service"  # an internal load balancer, inside the VPC
    PUBLIC = "web-service"  # an internet-facing load balancer
    NONE = "worker"  # no load balancer, no port

    @property
    def has_balancer(self) -> bool:
        return self is not Exposure.NONE

    @property
    def is_public(self) -> bool:
        return self is Exposure.PUBLIC

    @property
    def scheme(self) -> Literal["public", "internal"]:
        """The side of the shared load balancers a balanced service sits on (model/placement.py Seat.scheme)."""
        return "public" if self is Exposure.PUBLIC else "internal"

    @property
    def default_desired_count(self) -> int:
        return BALANCED_DESIRED_COUNT if self.has_balancer else WORKER_DESIRED_COUNT


class Balancer(Enum):
    """The load balancer of a balanced service; the value is the stack file's `load_balancer`."""

    OWN_ALB = "application"  # an Application Load Balancer of its own
    CLASSIC = "classic"  # a classic ELB of its own (static host port; HTTP or TCP)
    SHARED_ALB = "shared"  # a host rule on the stack's shared ALBs (blueprints/ingress.py)

    @property
    def is_alb(self) -> bool:
        """An Application Load Balancer (own or shared): target groups, dynamic host ports, HTTP only."""
        return self is not Balancer.CLASSIC

    @property
    def dynamic_host_ports(self) -> bool:
        """ECS picks the host port and registers it in the target group; a classic ELB needs a static one."""
        return self.is_alb


def words(enum: type[Exposure] | type[Balancer]) -> tuple[str, ...]:
    """The stack file's words for an enum, in declaration order (the rule's allowed values)."""
    return tuple(member.value for member in enum)


def variant(kind: str, load_balancer: str) -> tuple[Exposure, Balancer | None]:
    """The typed variant of a service's `kind` and `load_balancer` words (already checked by their rules).

    A worker has no balancer, whatever `load_balancer` says (the stack's default does not apply to it)."""
    exposure = Exposure(kind)
    return exposure, Balancer(load_balancer) if exposure.has_balancer else None
