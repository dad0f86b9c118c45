"""StackSets: names valid in every instance, refused at build time where they cannot be (issue 19 item 6)."""

from __future__ import annotations

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.data import IamUserConfig
from stack_cfn.ship.stackset import region_plans


def test_a_stack_set_with_iam_users_is_refused_before_anything_is_sent() -> None:
    """IAM user names are at most 64 characters (IAM User Guide, "IAM object quotas") and global to the account: a StackSet
    instance's nested stack name (StackSet-<set>-<uuid>-...) would pass the first, and three regions would collide."""
    cfg = StackConfig(name="fleet", environment="test", iam_users=(IamUserConfig(name="ci", policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",)),))
    with pytest.raises(ConfigError) as err:
        region_plans(cfg, ["us-east-1", "eu-west-1"])
    assert str(err.value).startswith("iam_users.ci: cannot be part of a StackSet") and "\n" not in str(err.value)
    assert region_plans(StackConfig(name="fleet", environment="test"), ["us-east-1", "eu-west-1"])
