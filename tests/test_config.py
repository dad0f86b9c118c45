"""The stack description: defaults, the Python API, and every kind of bad input."""

from __future__ import annotations

import dataclasses

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model.config import StackConfig
from stack_cfn.model.loading import load_config, parse_config

BASE = "name: my-app\nenvironment: prod\nkey_name: my-key\n"


def test_seed_defaults(cfg: StackConfig) -> None:
    assert cfg.cidr == "10.30.0.0/16"
    assert cfg.zone_count == 3 and cfg.az_count is None
    assert cfg.domain_name == "stack.local"
    assert (cfg.ecs_min_size, cfg.ecs_max_size, cfg.ecs_desired_capacity) == (3, 100, 3)
    assert cfg.ecs_instance_type == "m7i.large", "current generation (the seed's m4.large is previous-generation)"
    assert cfg.bastion_instance_type == "t3.micro"
    assert cfg.use_nat_instances is False and cfg.use_eip_with_nat_instances is False
    assert (cfg.logs_expiration_enabled, cfg.logs_expiration_days) == (False, 30)
    bare = StackConfig(name="my-app", environment="prod")
    assert bare.ssh_cidr == "" and bare.key_name == "", "no SSH from anywhere, no key needed: Session Manager"
    assert cfg.bastion and cfg.flow_logs and not cfg.allow_container_imds
    assert cfg.cluster_name == "my-app-prod", "name and environment: two environments of one name share an account without sharing a cluster"
    assert [str(n) for n in cfg.plan.internal] == ["10.30.0.0/19", "10.30.64.0/19", "10.30.128.0/19"]
    assert [str(n) for n in cfg.plan.external] == ["10.30.32.0/20", "10.30.96.0/20", "10.30.160.0/20"]


def test_immutable(cfg: StackConfig) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "other"  # type: ignore[misc]


def test_example_stack_yaml_loads() -> None:
    cfg = load_config("stack.yaml")
    assert cfg.name and cfg.environment and cfg.services


def test_yaml_and_python_api_agree() -> None:
    from_yaml = parse_config(BASE + "cidr: 10.40.0.0/16\naz_count: 2\n")
    from_api = StackConfig(name="my-app", environment="prod", key_name="my-key", cidr="10.40.0.0/16", az_count=2)
    assert from_yaml == from_api
    assert from_yaml.plan == from_api.plan


def test_explicit_lists_drive_the_az_count() -> None:
    cfg = parse_config(BASE + "region: eu-west-1\navailability_zones: [eu-west-1a, eu-west-1b]\n")
    assert cfg.zone_count == 2


BAD = {
    "missing name": ("environment: prod\nkey_name: k\n", "name"),
    "missing environment": ("name: a\nkey_name: k\n", "environment"),
    "name with underscore": ("name: My_App\nenvironment: prod\nkey_name: k\n", "name"),
    "environment too long": ("name: a\nenvironment: " + "e" * 40 + "\nkey_name: k\n", "environment"),
    "cidr does not parse": (BASE + "cidr: 10.30.0.0/33\n", "cidr"),
    "cidr host bits": (BASE + "cidr: 10.30.0.1/16\n", "cidr"),
    "cidr public": (BASE + "cidr: 8.8.0.0/16\n", "cidr"),
    "cidr too large": (BASE + "cidr: 10.0.0.0/8\n", "cidr"),
    "cidr too small": (BASE + "cidr: 10.30.0.0/26\n", "cidr"),
    "subnets overlap": (BASE + "internal_subnets: [10.30.0.0/19, 10.30.0.0/20, 10.30.128.0/19]\nexternal_subnets: [10.30.32.0/20, 10.30.96.0/20, 10.30.160.0/20]\n", "internal_subnets[1]"),
    "subnet outside vpc": (BASE + "internal_subnets: [10.31.0.0/19, 10.30.64.0/19, 10.30.128.0/19]\nexternal_subnets: [10.30.32.0/20, 10.30.96.0/20, 10.30.160.0/20]\n", "internal_subnets[0]"),
    "list lengths disagree": (BASE + "availability_zones: [us-west-2a, us-west-2b]\ninternal_subnets: [10.30.0.0/19, 10.30.64.0/19, 10.30.128.0/19]\n", "internal_subnets"),
    "too many azs": (BASE + "az_count: 5\n", "az_count"),
    "eip without nat instances": (BASE + "use_eip_with_nat_instances: true\n", "use_eip_with_nat_instances"),
    "unknown key": (BASE + "logs_expiration_dayz: 3\n", "logs_expiration_dayz"),
    "wrong type": (BASE + "ecs_min_size: three\n", "ecs_min_size"),
    "unknown region": (BASE + "region: mars-north-1\n", "region"),
    "min above desired": (BASE + "ecs_min_size: 4\n", "ecs_min_size"),
    "desired above max": (BASE + "ecs_desired_capacity: 200\n", "ecs_desired_capacity"),
    "negative size": (BASE + "ecs_max_size: -1\n", "ecs_max_size"),
    "instance type": (BASE + "ecs_instance_type: large\n", "ecs_instance_type"),
    "ecs ami": (BASE + "ecs_ami: ubuntu-1604\n", "ecs_ami"),
    "security group id": (BASE + "ecs_security_groups: [web]\n", "ecs_security_groups[0]"),
    "auth type without secret": (BASE + "ecs_docker_auth_type: dockercfg\n", "ecs_docker_auth_secret_arn"),
    "auth data is refused": (BASE + "ecs_docker_auth_data: '{}'\n", "ecs_docker_auth_data"),
    "root volume too small": (BASE + "ecs_root_volume_size: 10\n", "ecs_root_volume_size"),
    "docker volume too big": (BASE + "ecs_docker_volume_size: 20000\n", "ecs_docker_volume_size"),
    "scaling mode": (BASE + "ecs_scaling: magic\n", "ecs_scaling"),
}


@pytest.mark.parametrize("text,field", BAD.values(), ids=BAD.keys())
def test_bad_input_names_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert err.value.field == field
    message = str(err.value)
    assert message.startswith(f"{field}: ") and "\n" not in message
    assert err.value.fix, "every error says how to fix it"


def test_typo_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean logs_expiration_days"):
        parse_config(BASE + "logs_expiration_dayz: 3\n")


def test_yaml_that_does_not_parse() -> None:
    with pytest.raises(ConfigError, match="not valid YAML at line 2"):
        parse_config("name: a\n  bad: [\n", source="stack.yaml")


def test_yaml_that_is_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        parse_config("- a\n- b\n")


def test_python_api_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="use_eip_with_nat_instances"):
        StackConfig(name="a", environment="b", key_name="k", use_eip_with_nat_instances=True)
