"""load_balancer: shared: services behind the stack's shared ALBs by host name, seated stably within the per-ALB quotas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack_cfn import cli
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.errors import ConfigError
from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.loading import parse_config
from stack_cfn.model.placement import Placement, Seat, seat
from stack_cfn.ship.placement_file import placement_path

CERT = "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def shared(n: int, kind: str = "service") -> tuple[ServiceConfig, ...]:
    extra = {"https": False} if kind == "web-service" else {}
    return tuple(ServiceConfig(name=f"s{i:04d}", image=f"team/app{i}", port=8000 + i, kind=kind, load_balancer="shared", **extra)  # type: ignore[arg-type]
                 for i in range(n))


def resources(compiled: object, name: str) -> dict:
    return json.loads(compiled.files[name])["Resources"]  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["internal", "public"]), min_size=1, max_size=250), st.sets(st.integers(0, 249), max_size=40),
       st.integers(0, 250))
def test_seats_are_stable_unique_and_within_the_per_alb_quota(schemes: list[str], removed: set[int], at: int) -> None:
    before = [(f"s{i}", scheme) for i, scheme in enumerate(schemes)]
    first = seat(before, {})
    after = [item for i, item in enumerate(before) if i not in removed]
    after.insert(min(at, len(after)), ("new", "internal"))
    second = seat(after, first)
    assert all(second[name] == first[name] for name, _ in after if name != "new"), "nobody moves"
    by_balancer: dict[tuple[str, int], list[int]] = {}
    for s in second.values():
        by_balancer.setdefault((s.scheme, s.index), []).append(s.priority)
    for priorities in by_balancer.values():
        assert len(priorities) == len(set(priorities)) <= 100


def test_a_service_that_changes_scheme_is_seated_anew() -> None:
    assert seat([("a", "public")], {"a": Seat("internal", 0, 7)}) == {"a": Seat("public", 0, 1)}


def test_250_shared_services_need_three_internal_albs_not_250() -> None:
    compiled = compile_stack(StackConfig(name="big", environment="prod", services=shared(250)))
    ingress = resources(compiled, "ingress.json")
    assert sorted(k for k, r in ingress.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer") == [
        "Internal1Balancer", "Internal2Balancer", "Internal3Balancer"]
    service_files = {r["Properties"]["TemplateURL"] for k, r in resources(compiled, "stack.json").items() if k.startswith("S")}
    assert len(service_files) == 1, "alike shared services share one template"
    assert not compiled.warnings
    params = resources(compiled, "stack.json")["S0120Service"]["Properties"]["Parameters"]
    assert (params["BalancerIndex"], params["RulePriority"]) == (1, 21)
    assert params["Listeners"] == {"Fn::GetAtt": ["IngressStack", "Outputs.InternalListeners"]}


def test_a_shared_service_template_has_a_host_rule_and_no_balancer_of_its_own() -> None:
    svc = ServiceConfig(name="www", image="nginx", port=80, kind="web-service", load_balancer="shared", external_dns_name="www.example.com")
    files = compile_stack(StackConfig(name="a", environment="prod", shared_certificate_arn=CERT, services=(svc,))).files
    template = json.loads(next(body for name, body in files.items() if name.startswith("web-service-")))
    types = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::ElasticLoadBalancingV2::LoadBalancer" not in types and "AWS::ElasticLoadBalancingV2::ListenerRule" in types
    rule = template["Resources"]["ListenerRule"]["Properties"]
    assert rule["ListenerArn"]["Fn::Select"][0] == {"Ref": "BalancerIndex"} and rule["Priority"] == {"Ref": "RulePriority"}
    hosts = rule["Conditions"][0]["HostHeaderConfig"]["Values"]["Fn::If"]
    assert hosts[0] == "HasExternalDnsName" and hosts[1][1] == {"Ref": "ExternalDnsName"}
    ingress = json.loads(files["ingress.json"])["Resources"]
    assert ingress["Public1HttpsListener"]["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "SharedCertificateArn"}}]
    assert ingress["Public1HttpListener"]["Properties"]["DefaultActions"][0]["Type"] == "redirect"


def test_the_stack_default_applies_to_every_balanced_service_that_names_none() -> None:
    cfg = parse_config("name: a\nenvironment: prod\nload_balancer: shared\nservices:\n  - {name: api, image: nginx, port: 80}\n"
                       "  - {name: own, image: nginx, port: 80, load_balancer: application}\n  - {name: jobs, kind: worker, image: busybox}\n")
    assert [s.load_balancer for s in cfg.services] == ["shared", "application", "application"]


def test_own_load_balancers_past_the_default_quota_are_a_warning_naming_it() -> None:
    services = tuple(ServiceConfig(name=f"s{i:02d}", image="nginx", port=80) for i in range(51))
    warnings = compile_stack(StackConfig(name="a", environment="prod", services=services)).warnings
    assert any("'Application Load Balancers per Region' (50" in w and "load_balancer: shared" in w for w in warnings), warnings


BASE = "name: a\nenvironment: prod\nservices:\n"
BAD = {
    "no certificate": (BASE + "  - {name: www, kind: web-service, image: nginx, port: 80, load_balancer: shared}\n", "services.www.https",
                       "shared_certificate_arn"),
    "own certificate": (BASE + f"  - {{name: www, kind: web-service, image: nginx, port: 80, load_balancer: shared, ssl_certificate_id: '{CERT}'}}\n",
                        "services.www.ssl_certificate_id", "wildcard"),
    "tcp": (BASE + "  - {name: db, image: redis, port: 6379, load_balancer: shared, protocol: TCP}\n", "services.db.protocol", "classic"),
    "host port": (BASE + "  - {name: api, image: nginx, port: 80, load_balancer: shared, host_port: 8080}\n", "services.api.host_port", "remove"),
    "deletion protection": (BASE + "  - {name: api, image: nginx, port: 80, load_balancer: shared, deletion_protection: true}\n",
                            "services.api.deletion_protection", "application"),
    "stack default unknown": ("name: a\nenvironment: prod\nload_balancer: nlb\n", "load_balancer", "application, classic, shared"),
    "certificate not acm": ("name: a\nenvironment: prod\nshared_certificate_arn: nope\n", "shared_certificate_arn", "ACM"),
}


@pytest.mark.parametrize("text,field,fix", BAD.values(), ids=BAD.keys())
def test_bad_shared_input_names_the_field_and_the_fix(text: str, field: str, fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert err.value.field == field and fix in str(err.value), str(err.value)


def test_seats_are_recorded_and_a_broken_seat_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text(BASE + "  - {name: api, image: nginx, port: 80, load_balancer: shared}\n")
    assert cli.main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 0
    assert "load_balancers:\n  api:\n    scheme: internal\n    balancer: 0\n    priority: 1\n" in placement_path(config).read_text()
    placement_path(config).write_text(placement_path(config).read_text().replace("priority: 1", "priority: 0"))
    capsys.readouterr()
    assert cli.main(["build", "-c", str(config), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "load_balancers.api: is {'scheme': 'internal', 'balancer': 0, 'priority': 0}" in err, err


def test_a_group_passes_the_seat_too() -> None:
    compiled = compile_stack(StackConfig(name="a", environment="prod", services=shared(3), service_group_size=2))
    params = resources(compiled, "services-1.json")["S0002Service"]["Properties"]["Parameters"]
    assert (params["BalancerIndex"], params["RulePriority"]) == (0, 3) and params["Listeners"] == {"Ref": "PinnedInternalListeners"}, \
        "the service imports the listeners (unless pinned: issue 21)"
    assert compiled.placement == Placement(compiled.placement.groups, {f"s{i:04d}": Seat("internal", 0, i + 1) for i in range(3)})
