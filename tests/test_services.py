"""Service templates: the three kinds, both load balancers, sharing, scale, and bad input."""

from __future__ import annotations

import json

import pytest

from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.service import build_service
from stack_cfn.blueprints.service_contract import Service
from stack_cfn.errors import ConfigError
from stack_cfn.model.config import ServiceAutoScaling, ServiceConfig, StackConfig
from stack_cfn.model.loading import parse_config


def as_dict(svc: ServiceConfig) -> dict:
    return json.loads(build_service(svc).to_json())


ALB_IDS = {"LogGroup", "ExecutionRole", "TaskRole", "TaskDefinition", "Service", "LoadBalancer", "TargetGroup", "HttpListener", "DnsRecord"}


def test_logical_ids_per_shape() -> None:
    assert set(as_dict(ServiceConfig(name="nginx", image="nginx", port=80))["Resources"]) == ALB_IDS
    web = set(as_dict(ServiceConfig(name="www", image="nginx", port=80, kind="web-service", https=False))["Resources"])
    assert web == ALB_IDS | {"HttpsListener", "ExternalDnsRecord"}
    classic = set(as_dict(ServiceConfig(name="auth", image="auth", port=80, load_balancer="classic"))["Resources"])
    assert classic == {"LogGroup", "ExecutionRole", "TaskRole", "TaskDefinition", "Service", "LoadBalancer", "DnsRecord"}
    assert set(as_dict(ServiceConfig(name="jobs", image="jobs", kind="worker"))["Resources"]) == {"LogGroup", "ExecutionRole", "TaskRole", "TaskDefinition", "Service"}
    scaled = set(as_dict(ServiceConfig(name="api", image="api", port=80, autoscaling=ServiceAutoScaling()))["Resources"])
    assert scaled == ALB_IDS | {"ScalableTarget", "CpuScalingPolicy"}


def test_alb_uses_dynamic_host_ports_and_seed_health_checks() -> None:
    t = as_dict(ServiceConfig(name="nginx", image="nginx", port=80, extra_ports=(9000,)))
    container = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert [(p["ContainerPort"], p["HostPort"]) for p in container["PortMappings"]] == [({"Ref": "Port"}, 0), (9000, 0)]
    assert container["Image"] == {"Fn::Join": [":", [{"Ref": "Image"}, {"Ref": "Version"}]]}
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    tg = t["Resources"]["TargetGroup"]["Properties"]
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"], tg["HealthCheckTimeoutSeconds"], tg["HealthCheckIntervalSeconds"]) == (2, 2, 5, 30)
    assert tg["TargetGroupAttributes"] == [{"Key": "deregistration_delay.timeout_seconds", "Value": "15"}]
    attrs = {a["Key"]: a["Value"] for a in t["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "30" and attrs["access_logs.s3.prefix"] == {"Ref": "Name"}
    assert t["Resources"]["LoadBalancer"]["Properties"]["Scheme"] == "internal"
    service = t["Resources"]["Service"]
    assert service["DependsOn"] == ["HttpListener"], "created after its listener"
    deploy = service["Properties"]["DeploymentConfiguration"]
    assert deploy["MinimumHealthyPercent"] == {"Ref": "MinimumHealthyPercent"} and t["Parameters"]["MinimumHealthyPercent"]["Default"] == 100
    assert t["Parameters"]["MaximumPercent"]["Default"] == 200
    assert deploy["DeploymentCircuitBreaker"]["Rollback"] == {"Fn::If": ["CircuitBreakerOn", True, False]}
    assert "Role" not in service["Properties"], "ALB services use the ECS service-linked role"


def test_classic_elb_is_the_seeds() -> None:
    t = as_dict(ServiceConfig(name="auth", image="auth", port=3000, load_balancer="classic", protocol="TCP"))
    lb = t["Resources"]["LoadBalancer"]["Properties"]
    assert lb["HealthCheck"] == {"HealthyThreshold": "2", "Interval": "30", "Target": {"Fn::Join": ["", ["TCP:", {"Fn::If": ["DefaultHostPort", {"Ref": "Port"}, {"Ref": "HostPort"}]}]]},
                                 "Timeout": "5", "UnhealthyThreshold": "2"}
    assert lb["ConnectionDrainingPolicy"] == {"Enabled": True, "Timeout": 15}
    assert lb["ConnectionSettings"] == {"IdleTimeout": 30} and lb["CrossZone"] is True
    assert lb["AccessLoggingPolicy"]["S3BucketPrefix"] == {"Ref": "Name"}
    assert "HealthCheckPath" not in t["Parameters"], "a TCP check has no path"
    port = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["PortMappings"][0]
    assert port["HostPort"] == {"Fn::If": ["DefaultHostPort", {"Ref": "Port"}, {"Ref": "HostPort"}]}
    assert t["Resources"]["Service"]["Properties"]["Role"]["Fn::If"][0] == "ImportServiceRole"


def test_web_service_https_is_optional_and_80_redirects_with_a_certificate() -> None:
    t = as_dict(ServiceConfig(name="www", image="nginx", port=80, kind="web-service", https=False))
    assert t["Resources"]["LoadBalancer"]["Properties"]["Scheme"] == "internet-facing"
    http = t["Resources"]["HttpListener"]["Properties"]["DefaultActions"]["Fn::If"]
    assert http[0] == "HasCertificate" and http[1][0]["Type"] == "redirect" and http[2][0]["Type"] == "forward"
    assert t["Resources"]["HttpsListener"]["Condition"] == "HasCertificate"
    assert t["Resources"]["ExternalDnsRecord"]["Condition"] == "HasExternalZone"
    assert {"InternalFqdn", "ExternalFqdn", "Fqdn", "Dns", "Elb", "ZoneId", "Name", "LogGroup"} <= set(t["Outputs"])


def test_standalone_wiring_imports_the_stacks_exports() -> None:
    t = as_dict(ServiceConfig(name="nginx", image="nginx", port=80))
    cluster = t["Resources"]["Service"]["Properties"]["Cluster"]
    assert cluster == {"Fn::If": ["ImportCluster", {"Fn::ImportValue": {"Fn::Join": ["-", [{"Ref": "StackName"}, "Cluster"]]}}, {"Ref": "Cluster"}]}
    subnets = t["Resources"]["LoadBalancer"]["Properties"]["Subnets"]["Fn::If"][1]
    assert subnets == {"Fn::Split": [",", {"Fn::ImportValue": {"Fn::Join": ["-", [{"Ref": "StackName"}, "InternalSubnets"]]}}]}
    web = as_dict(ServiceConfig(name="www", image="nginx", port=80, kind="web-service", https=False))
    assert web["Resources"]["LoadBalancer"]["Properties"]["Subnets"]["Fn::If"][1]["Fn::Split"][1]["Fn::ImportValue"]["Fn::Join"][1][1] == "ExternalSubnets"
    required = {k for k, v in t["Parameters"].items() if "Default" not in v}
    assert required == {"Name", "Image", "Port"}, "the seed's quick start: StackName=prod Name=nginx Image=nginx Port=80"


def test_alike_services_share_one_template_file() -> None:
    cfg = StackConfig(name="my-app", environment="prod", key_name="k", services=(
        ServiceConfig(name="a", image="nginx", port=80), ServiceConfig(name="b", image="httpd", port=8080, desired_count=3),
        ServiceConfig(name="c", image="nginx", port=80, env={"X": "1"})))
    files = compile_stack(cfg).files
    assert len([f for f in files if f.startswith("service-")]) == 2
    root = json.loads(files["stack.json"])
    assert {"AService", "BService", "CService"} <= set(root["Resources"])
    assert root["Resources"]["AService"]["Properties"]["TemplateURL"] == root["Resources"]["BService"]["Properties"]["TemplateURL"]
    params = root["Resources"]["BService"]["Properties"]["Parameters"]
    assert (params["Image"], params["Port"], params["DesiredCount"]) == ("httpd", 8080, 3)
    assert params["Cluster"] == {"Fn::GetAtt": ["ClusterStack", "Outputs.Cluster"]}


@pytest.mark.parametrize("svc", [
    ServiceConfig(name="nginx", image="nginx", port=80),
    ServiceConfig(name="www", image="nginx", port=80, kind="web-service", load_balancer="classic", autoscaling=ServiceAutoScaling(), https=False),
    ServiceConfig(name="jobs", image="jobs", kind="worker"),
], ids=["service", "classic-web", "worker"])
def test_root_passes_every_required_parameter(svc: ServiceConfig) -> None:
    t = as_dict(svc)
    given = {p.name for p in Service.declared(svc)}
    assert given <= set(t["Parameters"]), "nothing passed that the template lacks"
    assert {k for k, v in t["Parameters"].items() if "Default" not in v} <= given


def test_one_hundred_services_stay_inside_cloudformation_quotas() -> None:
    services = tuple(ServiceConfig(name=f"svc{i:03d}", image="nginx", port=80 + i) for i in range(100))
    files = compile_stack(StackConfig(name="big", environment="prod", key_name="k", services=services)).files
    root = json.loads(files["stack.json"])
    assert len(root["Resources"]) == 103 <= 500
    assert len(root["Parameters"]) <= 200 and len(root["Outputs"]) <= 200
    assert len(files["stack.json"].encode()) < 1_000_000, "TemplateURL limit"
    assert len([f for f in files if f.startswith("service-")]) == 1, "one template for 100 alike services"
    for name, body in files.items():
        assert len(json.loads(body)["Resources"]) <= 500, name


BASE = "name: a\nenvironment: prod\nkey_name: k\nservices:\n"
SVC = "  - name: nginx\n    image: nginx\n    port: 80\n"
BAD = {
    "duplicate name": (BASE + SVC + SVC, "services.nginx"),
    "duplicate dns name": (BASE + SVC + "  - name: other\n    image: nginx\n    port: 80\n    dns_name: nginx\n", "services.other.dns_name"),
    "name not a dns label": (BASE + "  - name: My_Service\n    image: nginx\n    port: 80\n", "services.My_Service.name"),
    "port out of range": (BASE + "  - name: nginx\n    image: nginx\n    port: 70000\n", "services.nginx.port"),
    "cpu out of range": (BASE + SVC + "    cpu: 64\n", "services.nginx.cpu"),
    "memory out of range": (BASE + SVC + "    memory: 200000\n", "services.nginx.memory"),
    "image cannot parse": (BASE + "  - name: nginx\n    image: 'Nginx::bad'\n    port: 80\n", "services.nginx.image"),
    "certificate not acm": (BASE + "  - name: www\n    kind: web-service\n    image: nginx\n    port: 80\n    ssl_certificate_id: arn:aws:iam::123456789012:server-certificate/x\n",
                            "services.www.ssl_certificate_id"),
    "load balancer kind": (BASE + SVC + "    load_balancer: network\n", "services.nginx.load_balancer"),
    "health path without slash": (BASE + SVC + "    health_check_path: health\n", "services.nginx.health_check_path"),
    "desired above autoscaling max": (BASE + SVC + "    desired_count: 20\n    autoscaling: {min_count: 1, max_count: 10}\n", "services.nginx.desired_count"),
    "env var name": (BASE + SVC + "    env: {1BAD: x}\n", "services.nginx.env.1BAD"),
    "tcp with an alb": (BASE + SVC + "    protocol: TCP\n", "services.nginx.protocol"),
    "worker with a port": (BASE + "  - name: jobs\n    kind: worker\n    image: busybox\n    port: 80\n", "services.jobs.port"),
    "service without a port": (BASE + "  - name: nginx\n    image: nginx\n", "services.nginx.port"),
    "unknown service key": (BASE + SVC + "    imagee: x\n", "services.nginx.imagee"),
    "log retention": (BASE + SVC + "    log_retention_days: 10\n", "services.nginx.log_retention_days"),
    "logical id collision": (BASE + "  - name: a-b\n    image: a\n    port: 80\n  - name: a--b\n    image: a\n    port: 81\n", "services.a--b.name"),
}


@pytest.mark.parametrize("text,field", BAD.values(), ids=BAD.keys())
def test_bad_service_input(text: str, field: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    if field:
        assert err.value.field == field, str(err.value)
    assert "\n" not in str(err.value) and err.value.fix
