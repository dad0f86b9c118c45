"""What AWS accepts, read from data botocore already ships (no network, no list of our own)."""

from __future__ import annotations

import functools

from stack_cfn.errors import ConfigError

# Types the defaults use: known good, so the common path needs no model load.
COMMON_INSTANCE_TYPES = frozenset({"t2.micro", "t3.micro", "t3.nano", "m4.large", "m7i.large", "t4g.micro", "m7g.large"})


@functools.lru_cache(maxsize=1)
def ec2_instance_types() -> frozenset[str]:
    """Every instance type in botocore's EC2 service model (the API's InstanceType enum)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    return frozenset(model.shape_for("InstanceType").enum)


def check_instance_type(field: str, value: str) -> None:
    if value in COMMON_INSTANCE_TYPES or value in ec2_instance_types():
        return
    family = value.split(".")[0]
    near = sorted(t for t in ec2_instance_types() if t.startswith(family + "."))[:4]
    hint = f"use a type EC2 offers, such as {', '.join(near)}" if near else "use a type EC2 offers, such as m7i.large or t3.micro"
    raise ConfigError(field, f"{value} is not an EC2 instance type", hint)


def region_of_arn(arn: str) -> str:
    """The region field of an ARN (arn:partition:service:region:account:resource)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""
