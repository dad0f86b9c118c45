"""Shared load balancers on the local AWS, deployed through `stack-cfn deploy` and read back through ELBv2, ECS and Route 53."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import AWS_ENV, all_stacks, run_cli, services_by_name

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    certificate = target.client("acm").request_certificate(DomainName="*.example.com")["CertificateArn"]
    config = tmp_path_factory.mktemp("shared") / "stack.yaml"
    plain = {"log_retention_on_delete": False}
    config.write_text(yaml.safe_dump({
        "name": "shr", "environment": "test", "region": "us-east-1", "cidr": "10.99.0.0/16", "bastion": False,
        "load_balancer": "shared", "shared_certificate_arn": certificate,
        "services": [
            {"name": "api", "image": "nginx", "port": 80, **plain},
            {"name": "auth", "image": "nginx", "port": 8080, "dns_name": "login", **plain},
            {"name": "www", "kind": "web-service", "image": "nginx", "port": 80, "external_dns_name": "www.example.com", **plain},
            {"name": "blog", "kind": "web-service", "image": "nginx", "port": 80, "https": False, **plain},
            {"name": "own", "image": "nginx", "port": 80, "load_balancer": "application", **plain},
            {"name": "jobs", "kind": "worker", "image": "busybox", **plain},
        ]}))
    result = run_cli("deploy", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--bucket", "shared-templates",
                     "--create-bucket", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in target.client("cloudformation").describe_stacks(StackName="shr-test")["Stacks"][0]["Outputs"]}
    return target, outputs["VpcId"], outputs["ZoneId"]


def rules(elbv2, balancer: dict) -> dict[int, list[tuple[str, list[str], str]]]:  # noqa: ANN001
    """Port -> (priority, host names, action) of each rule of the balancer's listeners."""
    out = {}
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        out[listener["Port"]] = sorted((r["Priority"], [v for c in r["Conditions"] for v in c.get("HostHeaderConfig", {}).get("Values", c.get("Values", []))],
                                        r["Actions"][0]["Type"]) for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"])
    return out


def test_services_sit_behind_two_shared_balancers_by_host_name(deployed) -> None:  # noqa: ANN001
    target, vpc, _ = deployed
    elbv2 = target.client("elbv2")
    balancers = [b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["VpcId"] == vpc]
    assert len(balancers) == 3, "one internal and one public shared ALB, and the own ALB of 'own'"
    internal = [b for b in balancers if b["Scheme"] == "internal" and "Ingress" in b["LoadBalancerName"]]
    public = [b for b in balancers if b["Scheme"] == "internet-facing"]
    assert len(internal) == len(public) == 1
    assert rules(elbv2, internal[0]) == {80: [("1", ["api.stack.local"], "forward"), ("2", ["login.stack.local"], "forward"),
                                              ("default", [], "fixed-response")]}
    assert rules(elbv2, public[0]) == {80: [("2", ["blog.stack.local"], "forward"), ("default", [], "redirect")],
                                       443: [("1", ["www.stack.local", "www.example.com"], "forward"), ("default", [], "fixed-response")]}


def test_each_shared_service_has_its_target_group_and_ecs_service(deployed) -> None:  # noqa: ANN001
    target, vpc, _ = deployed
    groups = [g for g in target.client("elbv2").describe_target_groups()["TargetGroups"] if g["VpcId"] == vpc]
    assert len(groups) == 5, "api, auth, www, blog and own"
    names = set(services_by_name(target.client("ecs"), "shr-test"))
    assert names == {"api", "auth", "www", "blog", "own", "jobs"}


def test_private_names_point_at_the_shared_balancers(deployed) -> None:  # noqa: ANN001
    target, vpc, zone = deployed
    records = target.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    alias = {r["Name"].rstrip("."): r["AliasTarget"]["DNSName"].rstrip(".").lower() for r in records if r["Type"] == "A"}
    balancers = {b["Scheme"]: b["DNSName"].lower() for b in target.client("elbv2").describe_load_balancers()["LoadBalancers"]
                 if b["VpcId"] == vpc and "Ingress" in b["LoadBalancerName"]}
    assert alias["api.stack.local"] == alias["login.stack.local"] == balancers["internal"]
    assert alias["www.stack.local"] == alias["blog.stack.local"] == balancers["internet-facing"]
    assert alias["own.stack.local"] not in balancers.values()


def test_shared_services_in_a_service_group_import_the_listeners(local_aws, tmp_path) -> None:  # noqa: ANN001
    """A group's services import the ingress layer's comma-joined lists and pick their balancer by index."""
    local, target = local_aws
    config = tmp_path / "stack.yaml"
    config.write_text(yaml.safe_dump({
        "name": "shg", "environment": "test", "region": "us-east-1", "cidr": "10.91.0.0/16", "bastion": False, "service_group_size": 1,
        "load_balancer": "shared",
        "services": [{"name": n, "image": "nginx", "port": 80, "log_retention_on_delete": False} for n in ("one", "two")]}))
    plan = run_cli("plan", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--bucket", "shg-templates",
                   "--create-bucket", env=AWS_ENV)
    assert plan.returncode == 0 and "shg-test-services-1: 1 service(s), created after shg-test" in plan.stderr, plan.stderr[-2000:]
    names = [s["StackName"] for s in all_stacks(target.client("cloudformation"))]
    assert not [n for n in names if n.startswith("shg-test")], "the plan of a new stack leaves nothing behind"
    result = run_cli("deploy", "-c", str(config), "--endpoint-url", local.endpoint_url, "--region", "us-east-1", "--bucket", "shg-templates",
                     "--create-bucket", env=AWS_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    elbv2 = target.client("elbv2")
    shared = [b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith("shg-test-Ingress")]
    assert len(shared) == 1
    listener = elbv2.describe_listeners(LoadBalancerArn=shared[0]["LoadBalancerArn"])["Listeners"][0]
    hosts = sorted(v for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] for c in r["Conditions"]
                   for v in c.get("HostHeaderConfig", {}).get("Values", c.get("Values", [])))
    assert hosts == ["one.stack.local", "two.stack.local"], "the root's service and the group's, on one shared listener"
