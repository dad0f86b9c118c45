"""The values a template's properties take when its parameters are known: pure, no AWS.

A nested template is generic (its properties are `Ref`s of parameters); what a resource gets is decided by
the Parameters its parent passes. Comparing two builds therefore resolves what can be known offline:
`Ref` of a parameter (the parent's value, else the Default), conditions over known values, `Fn::If` on them,
`Ref: AWS::NoValue` (the key disappears) and `Fn::Join` of known strings. Whatever depends on something only
AWS knows (`Fn::GetAtt`, `Ref` of a resource, pseudo parameters, imports) stays as it is written: two
such expressions that are equal are taken to give the same value, two that differ "may" differ.

Source for the functions' meanings: AWS CloudFormation User Guide, "Intrinsic function reference"
(Ref, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Join, Condition functions, AWS::NoValue).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE_REF = "AWS::NoValue"


class _NoValue:
    """Ref AWS::NoValue: the property (or list item) is left out."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping naming a function (`Ref`, `Fn::...`, `Condition`): a value CloudFormation computes."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def is_literal(value: Any) -> bool:
    """Known offline: no function anywhere inside."""
    if is_intrinsic(value):
        return False
    if isinstance(value, dict):
        return all(is_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(is_literal(v) for v in value)
    return True


def scalar_text(value: Any) -> Any:
    """How CloudFormation sees a scalar: parameters are strings, so 5, "5" and true, "true" are the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def normal(value: Any) -> Any:
    """A value with its scalars as text, for comparing."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return scalar_text(value)


def reads(value: Any) -> Iterator[tuple[str, str]]:
    """(logical id or parameter, attribute or "") of each `Ref` and `Fn::GetAtt` in a value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner, ""
            elif key == "Fn::GetAtt":
                parts = inner if isinstance(inner, list) else str(inner).split(".", 1)
                if parts and isinstance(parts[0], str):
                    yield parts[0], str(parts[1]) if len(parts) > 1 else ""
            else:
                yield from reads(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from reads(inner)


def references(value: Any) -> Iterator[str]:
    """The logical ids a value reads through `Ref` or `Fn::GetAtt` (parameters included: the caller filters)."""
    return (logical_id for logical_id, _ in reads(value))


@dataclass
class Context:
    """One template's known parameter values (literal, or the parent's expression) and its conditions."""

    parameters: Mapping[str, Any]
    conditions: Mapping[str, Any]
    _decided: dict[str, bool | None] = field(default_factory=dict)

    @staticmethod
    def of(template: Mapping[str, Any], given: Mapping[str, Any]) -> Context:
        """The values passed to the template, else each parameter's Default."""
        declared = template.get("Parameters", {}) or {}
        known = {name: spec["Default"] for name, spec in declared.items() if isinstance(spec, dict) and "Default" in spec}
        known.update({name: value for name, value in given.items() if name in declared})
        return Context(known, template.get("Conditions", {}) or {})

    def resolve(self, value: Any) -> Any:
        """The value with what is known substituted; NO_VALUE when it is `Ref AWS::NoValue`."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if is_intrinsic(value):
            return self._function(next(iter(value)), next(iter(value.values())))
        return {k: r for k, v in value.items() for r in [self.resolve(v)] if r is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            if arg == NO_VALUE_REF:
                return NO_VALUE
            return self.parameters[arg] if isinstance(arg, str) and arg in self.parameters else {"Ref": arg}
        if name == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            decided = self.condition(arg[0])
            if decided is not None:
                return self.resolve(arg[1] if decided else arg[2])
            return {"Fn::If": [arg[0], self.resolve(arg[1]), self.resolve(arg[2])]}
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = self.resolve(arg[1])
            if isinstance(arg[0], str) and isinstance(parts, list) and all(isinstance(p, str | int | float) for p in parts):
                return arg[0].join(str(scalar_text(p)) for p in parts)
            return {"Fn::Join": [arg[0], parts]}
        return {name: self.resolve(arg)}

    def condition(self, name: Any) -> bool | None:
        """A named condition's value when it depends only on known values; None when only AWS can tell."""
        if not isinstance(name, str) or name not in self.conditions:
            return None
        if name not in self._decided:
            self._decided[name] = None  # a condition that refers to itself stays undecided
            self._decided[name] = self._truth(self.conditions[name])
        return self._decided[name]

    def _truth(self, expression: Any) -> bool | None:
        if not is_intrinsic(expression):
            return None
        name, arg = next(iter(expression.items()))
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = self.resolve(arg[0]), self.resolve(arg[1])
            return bool(normal(left) == normal(right)) if is_literal(left) and is_literal(right) else None
        if name == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            inner = self._truth(arg[0])
            return None if inner is None else not inner
        if name in ("Fn::And", "Fn::Or") and isinstance(arg, list):
            values = [self._truth(a) for a in arg]
            wanted = bool(name == "Fn::Or")  # one True decides an Or, one False an And
            if wanted in values:
                return wanted
            return None if None in values else not wanted
        return None
