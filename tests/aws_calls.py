"""Every AWS API call stack-cfn makes, read from its source: the deployer policy must allow each.

Read with `ast`, not by running: the e2e runs do not reach every path (roll, stackset, a
bucket of one's own), the source does. A client is whatever `<x>.client("svc")` returns; a
call is a method of a name bound to one (in any module: `cfn` is a CloudFormation client
everywhere), of such a call itself, or a paginator's operation. The local AWS's own calls
(ship/local.py: key pairs, its summary) never reach a real account and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import botocore.session

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ONLY = {"stack_cfn/ship/local.py"}


def modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text()) for p in sorted((ROOT / "stack_cfn").rglob("*.py"))
            if str(p.relative_to(ROOT)) not in LOCAL_ONLY}


def _client_service(node: ast.AST) -> str | None:
    """"svc" when node is `<anything>.client("svc")`."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def client_names(trees: dict[str, ast.Module]) -> dict[str, str]:
    """Variable name -> service, from every `x = ....client("svc")` (also `a, b = c1, c2`)."""
    names: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                pairs = zip(target.elts, node.value.elts, strict=False) if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) else [(target, node.value)]
                for name, value in pairs:
                    if isinstance(name, ast.Name) and (svc := _client_service(value)):
                        names.setdefault(name.id, set()).add(svc)
    clashes = {n: s for n, s in names.items() if len(s) > 1}
    assert not clashes, f"one name, several services: {clashes}; name each client after its service"
    return {n: s.pop() for n, s in names.items()}


@cache
def _operations(service: str) -> dict[str, str]:
    """botocore's method name -> API operation name of a service (get_caller_identity -> GetCallerIdentity)."""
    model = botocore.session.get_session().get_service_model(service)
    return {botocore.xform_name(op): op for op in model.operation_names}


def calls() -> Iterator[tuple[str, str, str]]:
    """(service, Operation, module) for every AWS API call in the package."""
    trees = modules()
    names = client_names(trees)
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            svc = names.get(receiver.id) if isinstance(receiver, ast.Name) else _client_service(receiver)
            if svc is None:
                continue
            method = node.func.attr
            if method in ("get_paginator", "get_waiter") and node.args and isinstance(node.args[0], ast.Constant):
                method = node.args[0].value  # a paginator calls its operation (waiters are not used: deploy polls itself)
            if method in _operations(svc):
                yield svc, _operations(svc)[method], module
