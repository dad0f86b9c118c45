"""Typed service variants: the stack file's `kind` and `load_balancer` words become Exposure and Balancer once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stack_cfn.errors import ConfigError
from stack_cfn.model import rules as R
from stack_cfn.model.checks import field_default, field_rule
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.loading import parse_config
from stack_cfn.model.variants import BALANCED_DESIRED_COUNT, WORKER_DESIRED_COUNT, Balancer, Exposure, variant, words

CERT = "arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000"


def service(kind: str, load_balancer: str, **more: object) -> ServiceConfig:
    """The smallest valid service of a kind behind a load balancer kind."""
    if kind != Exposure.NONE.value:
        more.setdefault("port", 80)
    if kind == Exposure.PUBLIC.value and load_balancer != Balancer.SHARED_ALB.value:
        more.setdefault("https", False)
    return ServiceConfig(name="svc", image="nginx", kind=kind, load_balancer=load_balancer, **more)  # type: ignore[arg-type]  # test kwargs


BALANCED = [(e, b) for e in (Exposure.INTERNAL, Exposure.PUBLIC) for b in Balancer]


@pytest.mark.parametrize(("exposure", "balancer"), BALANCED, ids=lambda v: v.value)
def test_each_balanced_combination_maps_to_its_variant(exposure: Exposure, balancer: Balancer) -> None:
    svc = service(exposure.value, balancer.value)
    assert (svc.exposure, svc.balancer) == (exposure, balancer)
    assert svc.has_balancer and svc.is_public == (exposure is Exposure.PUBLIC)
    assert (svc.has_own_alb, svc.is_shared, svc.is_classic) == (balancer is Balancer.OWN_ALB, balancer is Balancer.SHARED_ALB, balancer is Balancer.CLASSIC)
    assert svc.desired_tasks == svc.default_desired_count == BALANCED_DESIRED_COUNT


@pytest.mark.parametrize("load_balancer", words(Balancer))
def test_a_worker_has_no_balancer_whatever_load_balancer_says(load_balancer: str) -> None:
    worker = service(Exposure.NONE.value, load_balancer)
    assert worker.exposure is Exposure.NONE and worker.balancer is None
    assert not (worker.has_balancer or worker.is_public or worker.has_own_alb or worker.is_shared or worker.is_classic)
    assert worker.desired_tasks == WORKER_DESIRED_COUNT


def test_variant_parses_the_words_and_refuses_others() -> None:
    assert variant("web-service", "shared") == (Exposure.PUBLIC, Balancer.SHARED_ALB)
    assert variant("worker", "classic") == (Exposure.NONE, None)
    with pytest.raises(ValueError):
        variant("lambda", "application")
    with pytest.raises(ValueError):
        variant("service", "network")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("kind", "lambda", "services.svc.kind: 'lambda' is not a service kind; use one of service, web-service, worker"),
    ("load_balancer", "network", "services.svc.load_balancer: 'network' is not a load balancer kind; use one of application, classic, shared"),
])
def test_unknown_words_are_refused_with_the_enum_values(field: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        ServiceConfig(name="svc", image="nginx", port=80, **{field: value})  # type: ignore[arg-type]  # test kwargs
    assert str(err.value) == message


def test_the_stack_default_balancer_skips_workers() -> None:
    cfg = parse_config("name: a\nenvironment: b\nload_balancer: classic\nservices:\n"
                       "  - {name: api, image: api, port: 80}\n  - {name: jobs, image: jobs, kind: worker}\n")
    api, jobs = cfg.services
    assert api.balancer is Balancer.CLASSIC and jobs.balancer is None
    assert cfg.has_classic_services


def test_the_rule_sets_are_the_enums() -> None:
    """The allowed words are listed once, by the enums: the rules, the field defaults and the stack's rule read them."""
    assert R.SERVICE_KIND.values == tuple(e.value for e in Exposure) == ("service", "web-service", "worker")
    assert R.LOAD_BALANCER_KIND.values == tuple(b.value for b in Balancer) == ("application", "classic", "shared")
    assert field_rule(ServiceConfig, "kind") is R.SERVICE_KIND
    assert field_rule(ServiceConfig, "load_balancer") is field_rule(StackConfig, "load_balancer") is R.LOAD_BALANCER_KIND
    assert Exposure(field_default(ServiceConfig, "kind")) is Exposure.INTERNAL
    assert Balancer(field_default(ServiceConfig, "load_balancer")) is Balancer(field_default(StackConfig, "load_balancer")) is Balancer.OWN_ALB


def test_each_exposure_has_one_default_desired_count() -> None:
    assert {e: e.default_desired_count for e in Exposure} == {
        Exposure.INTERNAL: BALANCED_DESIRED_COUNT, Exposure.PUBLIC: BALANCED_DESIRED_COUNT, Exposure.NONE: WORKER_DESIRED_COUNT}
    assert {e: e.scheme for e in Exposure if e.has_balancer} == {Exposure.INTERNAL: "internal", Exposure.PUBLIC: "public"}
    assert [b for b in Balancer if b.dynamic_host_ports] == [Balancer.OWN_ALB, Balancer.SHARED_ALB]


# Still comparing the words until helper "registry" switches its contract predicates to the typed properties.
WORD_COMPARISONS_PENDING = {"blueprints/interfaces.py"}
_WORD = r"""["'](service|web-service|worker|application|classic|shared)["']"""
WORD_COMPARISON = re.compile(rf"(==|!=)\s*{_WORD}|{_WORD}\s*(==|!=)|\bin\s*[(\[{{]{_WORD}|load_balancer\b\s*(==|!=|\bin\b)")


def test_no_module_compares_the_words() -> None:
    """Only model/variants.py turns the words into types; everything else asks the types."""
    root = Path(__file__).resolve().parent.parent / "stack_cfn"
    found = [f"{p.relative_to(root)}:{n}" for p in sorted(root.rglob("*.py")) if str(p.relative_to(root)) not in WORD_COMPARISONS_PENDING
             for n, line in enumerate(p.read_text().splitlines(), 1) if WORD_COMPARISON.search(line)]
    assert found == []
