"""IAM policy statements in the stack file, checked by building them with awacs.

A service's `policies:` lists managed policy ARNs (strings) and inline
statements (mappings with Effect, Action, Resource, optional Sid and
Condition). An action must be one awacs knows (`s3:GetObject`), or a
wildcard over a service awacs knows (`s3:Get*`); a condition operator must be
one awacs models (`StringEquals`, `ArnLike`, ...). What passes here builds.
"""

from __future__ import annotations

import importlib
import re
import types
from collections.abc import Mapping
from typing import Any

import awacs.aws

from stack_cfn.errors import ConfigError
from stack_cfn.model.rules import MANAGED_POLICY_ARN, quote

STATEMENT_KEYS = ("Sid", "Effect", "Action", "Resource", "Condition")
ACTION = re.compile(r"([a-z0-9-]+):([A-Za-z0-9*]+)")


def _strings(where: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(where, f"expected a string or a list of strings, got {quote(value)}", "write it like [s3:GetObject]")
    return tuple(items)


def awacs_action(where: str, text: str) -> awacs.aws.Action:
    match = ACTION.fullmatch(text)
    if not match:
        raise ConfigError(where, f"{quote(text)} is not an IAM action", "write it like s3:GetObject or s3:Get*")
    prefix, name = match.groups()
    try:
        module = importlib.import_module(f"awacs.{prefix.replace('-', '_')}")
    except ImportError:
        raise ConfigError(where, f"{prefix} is not an AWS service prefix awacs knows", "check the prefix, e.g. s3, dynamodb, sqs") from None
    known = {a.JSONrepr().split(":", 1)[1] for a in vars(module).values() if isinstance(a, awacs.aws.Action)}
    if "*" not in name and name not in known:
        raise ConfigError(where, f"{text} is not an action of {prefix}", f"check its spelling; {prefix} has {len(known)} actions")
    return awacs.aws.Action(prefix, name)


def awacs_condition(where: str, value: Any) -> awacs.aws.Condition:
    if not isinstance(value, dict):
        raise ConfigError(where, f"expected a mapping of operators, got {quote(value)}", "write it like {StringEquals: {aws:SourceAccount: '123456789012'}}")
    elements = []
    for operator, pairs in value.items():
        cls = getattr(awacs.aws, str(operator), None)
        if not (isinstance(cls, type) and issubclass(cls, awacs.aws.ConditionElement)) or not isinstance(pairs, dict):
            raise ConfigError(f"{where}.{operator}", "is not a condition operator with key: value pairs", "use one such as StringEquals or ArnLike")
        elements += [cls(str(k), v) for k, v in pairs.items()]
    return awacs.aws.Condition(elements)


def statement(where: str, item: Mapping[str, Any]) -> awacs.aws.Statement:
    """The awacs Statement for a stack-file statement; any error names the field."""
    unknown = [k for k in item if k not in STATEMENT_KEYS]
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "is not a statement key", f"use {', '.join(STATEMENT_KEYS)}")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise ConfigError(f"{where}.Effect", f"{quote(effect)} is not an effect", "use Allow or Deny")
    if "Action" not in item or "Resource" not in item:
        missing = "Action" if "Action" not in item else "Resource"
        raise ConfigError(f"{where}.{missing}", "is required", f"add {missing}: to the statement")
    actions = [awacs_action(f"{where}.Action", a) for a in _strings(f"{where}.Action", item["Action"])]
    body: dict[str, Any] = {"Effect": awacs.aws.Allow if effect == "Allow" else awacs.aws.Deny, "Action": actions,
                            "Resource": list(_strings(f"{where}.Resource", item["Resource"]))}
    if "Sid" in item:
        body["Sid"] = str(item["Sid"])
    if "Condition" in item:
        body["Condition"] = awacs_condition(f"{where}.Condition", item["Condition"])
    return awacs.aws.Statement(**body)


def load_policies(value: Any, where: str) -> tuple[Any, ...]:
    """The `policies:` list: managed policy ARNs (str) and statements (read-only mappings), each checked."""
    if not isinstance(value, list):
        raise ConfigError(where, f"expected a list, got {quote(value)}", "write managed policy ARNs and statements as a YAML list")
    out: list[Any] = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if isinstance(item, str):
            problem = MANAGED_POLICY_ARN.problem(item)
            if problem:
                raise ConfigError(here, problem, MANAGED_POLICY_ARN.fix)
            out.append(item)
        elif isinstance(item, dict):
            statement(here, item)
            out.append(types.MappingProxyType(dict(item)))
        else:
            raise ConfigError(here, f"expected a policy ARN or a statement, got {quote(item)}", "write an ARN, or Effect/Action/Resource")
    return tuple(out)
