"""The rows the Fargate/awsvpc variant adds to the service contract (registered in registry.py VARIANTS).

Each row has its own `when`: an awsvpc service (Fargate, or EC2 with network_mode: awsvpc) places its tasks'
network interfaces in the internal subnets (blueprints/fargate.py builds the rest).
"""

from __future__ import annotations

from stack_cfn.blueprints.contract import Contract, Param, Wired
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.model.config import ServiceConfig


def is_awsvpc(s: ServiceConfig) -> bool:
    """Tasks with interfaces of their own: Fargate, or EC2 with network_mode: awsvpc."""
    return s.awsvpc


class FargateRows(Contract[ServiceConfig]):
    """The awsvpc service's own wiring."""

    TaskSubnets = Param("Internal subnets the tasks' network interfaces sit in (awsvpc)", "CommaDelimitedList", default="", when=is_awsvpc,
                        supply=Wired(lambda s: Network.Outputs.InternalSubnets))
