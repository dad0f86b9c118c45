"""The stack description checked against AWS's deploy-time rules (model/aws_facts.py) for a region.

`check_aws_rules(cfg, region)` runs when a StackConfig is made (for its own region) and from
`stack-cfn check --region R` and `stack-cfn stackset` (for every target region): instance types
and DB classes the region offers, the names the stack derives from its settings, ARNs of the
stack's partition (and region, where the resource must be regional), ALB host conditions, IAM
inline-policy sizes and the instances' user data size. Each refusal is one line naming the setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import names, offerings, quotas

# stack-cfn's own part of the container instances' user data (cloud-config, the IMDS unit, the auth script),
# with the longest cluster name; tests/test_aws_rules.py measures the blueprint's against it.
OWN_USER_DATA_BYTES = 8192  # the docker-auth fetcher (get_secret.py, inline) is most of it
# Longest output name that an export carries (tests/test_aws_rules.py checks the interfaces against it).
LONGEST_OUTPUT = 40


def default_stack_name(cfg: Any) -> str:
    return names.stack_name(cfg.name, cfg.environment)


def check_aws_rules(cfg: Any, region: str, stack_name: str | None = None) -> None:
    """Every deploy-time rule of AWS the description can be checked against offline, for `region`."""
    check_offerings(cfg, region)
    check_derived_names(cfg, stack_name or default_stack_name(cfg))
    check_arns(cfg, region)
    check_hosts(cfg)
    check_policy_sizes(cfg)
    check_user_data(cfg)


def check_offerings(cfg: Any, region: str) -> None:
    """Instance types (those the stack uses, in the region; the others must exist) and DB instance classes."""
    used = {"ecs_instance_type": True, "nat_instance_type": cfg.use_nat_instances, "bastion_instance_type": cfg.bastion}
    for field, in_use in used.items():
        offerings.check_ec2_type(field, getattr(cfg, field), region if in_use else None)
    for db in cfg.databases:
        if db.serverless is None:
            offerings.check_db_class(f"databases.{db.name}.instance_class", db.instance_class, db.engine, region)


def derived_names(cfg: Any, stack: str) -> Iterator[tuple[F.NameRule, str, str, str]]:
    """(rule, name, the setting it derives from, the fix) of each name the stack gives a resource."""
    shorten = "shorten name or environment (the stack is <name>-<environment>)"
    yield F.STACK_NAME, stack, "name", shorten
    groups = max(1, len(cfg.services))
    yield F.STACK_NAME, names.group_stack_name(stack, groups), "name", shorten
    yield F.CAPACITY_PROVIDER_NAME, names.capacity_provider_name(cfg.name, stack), "--stack-name", "choose a stack name that does not start with aws, ecs or fargate"
    yield F.EXPORT_NAME, names.export_name(stack, "x" * LONGEST_OUTPUT), "name", shorten
    yield F.ECS_CLUSTER_NAME, cfg.cluster_name, "ecs_cluster_name", "shorten ecs_cluster_name"
    yield F.ALARM_NAME, f"{cfg.cluster_name}-memoryreservation-high", "ecs_cluster_name", "shorten ecs_cluster_name"
    for d in cfg.databases:
        yield F.EXPORT_NAME, names.export_name(stack, d.name, "x" * LONGEST_OUTPUT), f"databases.{d.name}.name", "shorten the database's name"
    for u in cfg.iam_users:
        fix = f"shorten the user's name to {max(1, F.IAM_USER_NAME.max_length - len(stack) - 1)} characters, or the stack's name"
        yield F.IAM_USER_NAME, names.iam_user_name(default_stack_name(cfg), u.name), f"iam_users.{u.name}.name", fix
        yield F.EXPORT_NAME, names.export_name(stack, u.name, "x" * LONGEST_OUTPUT), f"iam_users.{u.name}.name", "shorten the user's name"


def check_derived_names(cfg: Any, stack: str) -> None:
    for rule, name, setting, fix in derived_names(cfg, stack):
        F.check_name(rule, name, setting, fix)


def stack_arns(cfg: Any) -> Iterator[tuple[str, str]]:
    """(setting, ARN) of every ARN the description names."""
    yield from ((f, getattr(cfg, f)) for f in ("ecs_docker_auth_secret_arn", "shared_certificate_arn"))
    if cfg.alarms is not None:
        yield "alarms.topic_arn", cfg.alarms.topic_arn
    for s in cfg.services:
        where = f"services.{s.name}."
        yield from ((where + f, getattr(s, f)) for f in ("ssl_certificate_id", "kms_key_arn", "task_role_arn", "repository_credentials"))
        yield from ((f"{where}secrets.{k}", v) for k, v in s.secrets.items())
        yield from _policy_arns(f"{where}policies", s.policies)
    for d in cfg.databases:
        yield f"databases.{d.name}.kms_key_arn", d.kms_key_arn
    for u in cfg.iam_users:
        yield from _policy_arns(f"iam_users.{u.name}.policies", u.policies)


def _policy_arns(where: str, policies: tuple[Any, ...]) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(policies):
        if isinstance(item, str):
            yield f"{where}[{i}]", item
            continue
        resources = item.get("Resource", ())
        for value in [resources] if isinstance(resources, str) else resources:
            if isinstance(value, str):
                yield f"{where}[{i}].Resource", value


def check_arns(cfg: Any, region: str) -> None:
    """Every ARN in the stack's partition; certificates, keys and topics in its region."""
    partition = F.partition_of(region)
    for setting, arn in stack_arns(cfg):
        if not arn.startswith("arn:"):
            continue
        if F.partition_of_arn(arn) != partition:
            raise ConfigError(setting, f"is an ARN of partition {F.partition_of_arn(arn)}, but {region} is in partition {partition}",
                              f"use an ARN of {partition} (arn:{partition}:...); ARNs never cross partitions")
        service, arn_region = arn.split(":")[2], F.region_of_arn(arn)
        if service in F.SAME_REGION_SERVICES and arn_region != region:
            raise ConfigError(setting, f"is in {arn_region or 'no region'}, but the stack deploys to {region}, and {service} resources are regional",
                              f"use one in {region}")


def service_hosts(cfg: Any, s: Any) -> tuple[str, ...]:
    """The host names a balanced service answers to: its name under the stack's domain, and its public name."""
    return tuple(h for h in (f"{s.record_name}.{cfg.domain_name}", s.external_dns_name) if h)


def check_hosts(cfg: Any) -> None:
    """ALB host conditions AWS accepts, and no host answered by two services."""
    seen: dict[str, str] = {}
    for s in (s for s in cfg.services if s.has_balancer):
        for host in service_hosts(cfg, s):
            field = f"services.{s.name}.external_dns_name" if host == s.external_dns_name else f"services.{s.name}.dns_name"
            if s.is_shared:
                _check_host_condition(host, field)
            if host in seen:
                raise ConfigError(field, f"{host} is also answered by service {seen[host]}", "give each service its own host name")
            seen[host] = s.name


def _check_host_condition(host: str, field: str) -> None:
    if len(host) > F.HOST_CONDITION_LENGTH:
        raise ConfigError(field, f"makes the host condition {host[:40]}... of {len(host)} characters, over the {F.HOST_CONDITION_LENGTH} "
                          "an ALB rule accepts (ELB HostHeaderConditionConfig)", "shorten the name or the stack's domain_name")
    if not F.HOST_CONDITION.fullmatch(host):
        raise ConfigError(field, f"makes the host condition {host}, but an ALB host condition ends in a dot and letters only "
                          "(ELB HostHeaderConditionConfig)", "use a domain whose last label is letters, like stack.local")


def _policy_chars(policies: tuple[Any, ...]) -> int:
    statements = [dict(s) for s in policies if not isinstance(s, str)]
    if not statements:
        return 0
    return len(re.sub(r"\s", "", json.dumps({"Version": "2012-10-17", "Statement": statements}, default=str)))


def execution_policy_chars(s: Any) -> int:
    """An upper estimate of a service's execution role policy (pull, log, read its secrets, blueprints/iam.py):
    the fixed statements, and each secret's resource (a parameter name becomes an ARN of up to 60 more)."""
    refs = [*s.secrets.values(), s.repository_credentials, s.kms_key_arn]
    return 900 + sum(len(r) + (5 if r.startswith("arn:") else 60) for r in refs if r) + 200 * len(s.databases)


def check_policy_sizes(cfg: Any) -> None:
    """Inline policies within IAM's size quotas (a role's and a user's aggregate)."""
    for s in cfg.services:
        reads = execution_policy_chars(s)
        if reads > quotas.ROLE_INLINE_POLICY_CHARS.limit:
            raise ConfigError(f"services.{s.name}.secrets", quotas.ROLE_INLINE_POLICY_CHARS.message(reads, "the execution role's policy (about)"),
                              "read fewer secrets: keep several values in one Secrets Manager secret (name:json-key::)")
        size = _policy_chars(s.policies)
        if size > quotas.ROLE_INLINE_POLICY_CHARS.limit:
            raise ConfigError(f"services.{s.name}.policies", quotas.ROLE_INLINE_POLICY_CHARS.message(size, "the task role's inline policy"),
                              "use wildcards or managed policies (their ARNs under policies)")
    for u in cfg.iam_users:
        size = _policy_chars(u.policies)
        if size > quotas.USER_INLINE_POLICY_CHARS.limit:
            raise ConfigError(f"iam_users.{u.name}.policies", quotas.USER_INLINE_POLICY_CHARS.message(size, "the user's inline policy"),
                              "use wildcards or managed policies (their ARNs under policies)")


def check_user_data(cfg: Any) -> None:
    extra = len(cfg.extra_cloud_config_content.encode("utf-8"))
    room = F.USER_DATA_BYTES - OWN_USER_DATA_BYTES
    if extra > room:
        raise ConfigError("extra_cloud_config_content", f"is {extra} bytes; user data holds {F.USER_DATA_BYTES} bytes before base64 "
                          f"(EC2 user guide, 'Work with instance user data') and stack-cfn's own part takes up to {OWN_USER_DATA_BYTES}",
                          f"keep it under {room} bytes: fetch larger files at boot (e.g. from S3)")
