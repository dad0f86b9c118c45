"""Release strategies (model/deployment.py, blueprints/deployment.py): each strategy's compiled DeploymentConfiguration, with the
values the root passes, validated against the AWS::ECS::Service schema cfn-lint ships; the resources traffic shifting needs;
the refusals; and that services without `deployment:` compile exactly as before."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

import botocore.exceptions
import jsonschema
import pytest

from stack_cfn import cli
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.deployment import SHIFTED_PRIORITY_OFFSET, TEST_HEADER, shifted_priorities
from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model.config import ServiceConfig
from stack_cfn.model.deployment import DeploymentConfig, check_release_strategy
from stack_cfn.model.loading import parse_config
from stack_cfn.model.releases import Release
from stack_cfn.ship import release
from stack_cfn.ship.abort import AbortRequest, abort_release
from stack_cfn.ship.lint import lint_findings

BASE = """name: dep
environment: prod
shared_certificate_arn: arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012
"""
CERT = "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
STRATEGIES = {
    "rolling": "{strategy: rolling, bake_minutes: 5}",
    "blue_green": "{strategy: blue_green}",
    "canary": "{strategy: canary, canary_percent: 12.5, step_minutes: 10, bake_minutes: 30}",
    "linear": "{strategy: linear, linear_step_percent: 25, step_minutes: 3}",
}
SHAPES = {  # own internal ALB, own public ALB with HTTPS, a host rule on the shared internal ALB
    "service": "{name: api, image: nginx, port: 80, deployment: %s}",
    "web-service": "{name: api, kind: web-service, image: nginx, port: 80, ssl_certificate_id: " + CERT + ", deployment: %s}",
    "shared": "{name: api, image: nginx, port: 80, load_balancer: shared, deployment: %s}",
}


def compiled(text: str) -> dict[str, Any]:
    return {name: json.loads(body) for name, body in compile_stack(parse_config(text)).files.items()}


def service_of(text: str, logical: str = "ApiService") -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The service template's resources and conditions, and the parameters the root passes it."""
    files = compiled(text)
    nested = files["stack.json"]["Resources"][logical]["Properties"]
    template = files[nested["TemplateURL"]]
    return template["Resources"], template.get("Conditions", {}), nested["Parameters"]


def resolve(node: Any, params: dict[str, Any], template_params: dict[str, Any]) -> Any:
    """The value CloudFormation would send: Refs to parameters and Fn::If on the strategy conditions evaluated."""
    value = lambda name: params.get(name, template_params.get(name, {}).get("Default", f"arn:aws:resource:{name}"))  # noqa: E731
    if isinstance(node, list):
        return [r for r in (resolve(n, params, template_params) for n in node) if r is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return NO_VALUE if node["Ref"] == "AWS::NoValue" else value(node["Ref"])
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        strategy = value("DeploymentStrategy")
        chosen = {"IsCanaryDeployment": strategy == "CANARY", "IsLinearDeployment": strategy == "LINEAR", "CircuitBreakerOn": True}[name]
        return resolve(yes if chosen else no, params, template_params)
    if len(node) == 1 and next(iter(node)) in ("Fn::GetAtt", "Fn::Join", "Fn::Select", "Fn::ImportValue"):
        return f"arn:aws:resolved:{next(iter(node))}"  # a resource's ARN or name at deploy time
    out = {k: resolve(v, params, template_params) for k, v in node.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}


NO_VALUE = object()


def ecs_schema() -> dict[str, Any]:
    """cfn-lint's provider schema of AWS::ECS::Service (the CloudFormation registry schema it validates templates with)."""
    folder = importlib.resources.files("cfnlint") / "data" / "schemas" / "resources"
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text())
            if schema.get("typeName") == "AWS::ECS::Service":
                return schema
    raise AssertionError("cfn-lint ships no AWS::ECS::Service schema")


def numbers(node: Any) -> Any:
    """Parameter values as CloudFormation hands them to the resource: Number parameters are numbers."""
    if isinstance(node, dict):
        return {k: numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [numbers(v) for v in node]
    if isinstance(node, str) and node.replace(".", "", 1).isdigit():
        return float(node) if "." in node else int(node)
    return node


def validate(definition: str, value: Any) -> None:
    schema = ecs_schema()
    # The schema's own patterns use \p{L}, which Python's re lacks: the validator is built without checking the schema itself.
    jsonschema.Draft7Validator({**schema["definitions"][definition], "definitions": schema["definitions"]}).validate(numbers(value))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_each_strategy_compiles_to_a_deployment_configuration_the_ecs_schema_accepts(strategy: str, shape: str) -> None:
    """AWS::ECS::Service DeploymentConfiguration and LoadBalancers[].AdvancedConfiguration, as cfn-lint's schema defines them
    (Strategy enum, BakeTimeInMinutes 0-1440, CanaryPercent 0.1-100 and StepPercent 3-100 in multiples of 0.1), with the values
    the root passes; and the whole template lints clean."""
    files = compiled(BASE + "services:\n  - " + SHAPES[shape] % STRATEGIES[strategy] + "\n")
    nested = files["stack.json"]["Resources"]["ApiService"]["Properties"]
    template = files[nested["TemplateURL"]]
    service = template["Resources"]["Service"]["Properties"]
    config = resolve(service["DeploymentConfiguration"], nested["Parameters"], template["Parameters"])
    validate("DeploymentConfiguration", config)
    assert config["Strategy"] == strategy.upper()
    balancers = resolve(service["LoadBalancers"], nested["Parameters"], template["Parameters"])
    for entry in balancers:
        validate("LoadBalancer", entry)
    if strategy == "rolling":
        assert config["BakeTimeInMinutes"] == 5 and config["DeploymentCircuitBreaker"]["Enable"] is True
        assert "AdvancedConfiguration" not in balancers[0] and "AlternateTargetGroup" not in template["Resources"]
    else:
        assert "DeploymentCircuitBreaker" not in config, "the circuit breaker is rolling only (ECS API DeploymentConfiguration)"
        assert set(balancers[0]["AdvancedConfiguration"]) == {"AlternateTargetGroupArn", "ProductionListenerRule", "TestListenerRule", "RoleArn"}
    assert lint_findings(nested["TemplateURL"], json.dumps(template)) == []


def test_canary_and_linear_carry_their_own_configuration_only() -> None:
    """CanaryConfiguration "Only valid when the deployment strategy is CANARY", LinearConfiguration likewise for LINEAR
    (AWS::ECS::Service DeploymentConfiguration)."""
    for strategy, present, absent in (("canary", "CanaryConfiguration", "LinearConfiguration"), ("linear", "LinearConfiguration", "CanaryConfiguration"),
                                      ("blue_green", None, None)):
        resources, _, params = service_of(BASE + "services:\n  - " + SHAPES["service"] % STRATEGIES[strategy] + "\n")
        template_params: dict[str, Any] = {}
        config = resolve(resources["Service"]["Properties"]["DeploymentConfiguration"], params, template_params)
        if present:
            assert present in config and absent not in config
        else:
            assert "CanaryConfiguration" not in config and "LinearConfiguration" not in config and config["BakeTimeInMinutes"] == 15
    _, _, params = service_of(BASE + "services:\n  - " + SHAPES["service"] % STRATEGIES["canary"] + "\n")
    assert (params["CanaryPercent"], params["StepMinutes"], params["BakeMinutes"]) == (12.5, 10, 30)


def test_both_rules_forward_to_both_target_groups_weighted_one_and_zero() -> None:
    """ECS developer guide, "Application Load Balancer resources for blue/green, linear, and canary deployments": the production
    rule is pre-configured with both target groups weighted 1 and 0, else the deployment rolls back ("Both targetGroup and
    alternateTargetGroup must be associated with the productionListenerRule or testListenerRule")."""
    for shape, production in (("service", "ProductionListenerRule"), ("shared", "ListenerRule")):
        resources, _, params = service_of(BASE + "services:\n  - " + SHAPES[shape] % STRATEGIES["blue_green"] + "\n")
        for rule in (production, "TestListenerRule"):
            (action,) = resources[rule]["Properties"]["Actions"]
            groups = action["ForwardConfig"]["TargetGroups"]
            assert action["Type"] == "forward" and [(g["TargetGroupArn"], g["Weight"]) for g in groups] == [
                ({"Ref": "TargetGroup"}, 1), ({"Ref": "AlternateTargetGroup"}, 0)]
        test = resources["TestListenerRule"]["Properties"]
        assert test["Conditions"][-1]["HttpHeaderConfig"]["HttpHeaderName"] == TEST_HEADER
        assert resources["AlternateTargetGroup"]["Properties"] == resources["TargetGroup"]["Properties"]
        if shape == "shared":  # the test rule (host and header) comes before the host rule
            assert test["Priority"] == {"Ref": "RulePriority"} and resources[production]["Properties"]["Priority"] == {"Ref": "ShiftedRulePriority"}
            assert params["ShiftedRulePriority"] == params["RulePriority"] + SHIFTED_PRIORITY_OFFSET
        else:
            assert test["Priority"] < resources[production]["Properties"]["Priority"]


def test_ecs_gets_a_role_with_the_managed_load_balancer_policy() -> None:
    """ECS developer guide, "Amazon ECS infrastructure IAM role for load balancers": trusted by ecs.amazonaws.com, with the AWS
    managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers."""
    resources, _, _ = service_of(BASE + "services:\n  - " + SHAPES["service"] % STRATEGIES["linear"] + "\n")
    role = resources["DeploymentRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["ecs.amazonaws.com"]} and statement["Action"] == ["sts:AssumeRole"]
    assert role["ManagedPolicyArns"] == [{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"]]}]
    assert "Policies" not in role


def test_the_services_own_alarms_stop_and_roll_back_a_deployment() -> None:
    """DeploymentConfiguration.Alarms (AWS::ECS::Service DeploymentAlarms: AlarmNames, Enable, Rollback required): the 5xx and
    unhealthy-target alarms, on both target groups when traffic shifts; nothing without alarms:."""
    alarmed = BASE + "alarms: {emails: [ops@example.com]}\nservices:\n  - "
    for strategy, expected in (("rolling", ["Http5xxAlarm", "UnhealthyTargetsAlarm"]),
                               ("canary", ["Http5xxAlarm", "UnhealthyTargetsAlarm", "AlternateHttp5xxAlarm", "AlternateUnhealthyTargetsAlarm"])):
        resources, _, _ = service_of(alarmed + SHAPES["service"] % STRATEGIES[strategy] + "\n")
        alarms = resources["Service"]["Properties"]["DeploymentConfiguration"]["Alarms"]
        assert alarms == {"AlarmNames": [{"Ref": n} for n in expected], "Enable": True, "Rollback": True}
        validate("DeploymentAlarms", resolve(alarms, {}, {}))
    resources, _, _ = service_of(alarmed + SHAPES["service"] % STRATEGIES["canary"] + "\n")
    dims = {d["Name"]: d["Value"] for d in resources["AlternateUnhealthyTargetsAlarm"]["Properties"]["Dimensions"]}
    assert dims["TargetGroup"] == {"Fn::GetAtt": ["AlternateTargetGroup", "TargetGroupFullName"]}
    resources, _, _ = service_of(BASE + "services:\n  - " + SHAPES["service"] % STRATEGIES["canary"] + "\n")
    assert "Alarms" not in resources["Service"]["Properties"]["DeploymentConfiguration"]
    resources, _, _ = service_of(alarmed + "{name: api, image: nginx, port: 80}\n")
    assert "Alarms" not in resources["Service"]["Properties"]["DeploymentConfiguration"], "no deployment: compiles as before"


def test_services_without_deployment_compile_exactly_as_before() -> None:
    """Adding deployment: to one service changes that service's template only (the golden files hold the rest)."""
    two = BASE + "services:\n  - {name: api, image: nginx, port: 80}\n  - {name: www, image: httpd, port: 80, dns_name: www}\n"
    before = compile_stack(parse_config(two)).files
    after = compile_stack(parse_config(two.replace("port: 80}\n  - {name: www", "port: 80, deployment: {strategy: canary}}\n  - {name: www"))).files
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert len(changed - {"stack.json"}) == 1, changed  # api's own template; www keeps the one they shared


def test_the_stack_default_applies_to_balanced_services_and_a_service_may_replace_it() -> None:
    cfg = parse_config(BASE + "deployment: {strategy: linear}\nservices:\n  - {name: api, image: nginx, port: 80}\n"
                              "  - {name: www, image: nginx, port: 80, deployment: {strategy: rolling}}\n  - {name: jobs, kind: worker, image: busybox}\n")
    by_name = {s.name: s.deployment for s in cfg.services}
    assert by_name == {"api": DeploymentConfig(strategy="linear"), "www": DeploymentConfig(strategy="rolling"), "jobs": None}


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"strategy": "canary", "linear_step_percent": 10.0}, "linear_step_percent", "applies to strategy linear only"),
    ({"strategy": "canary", "canary_percent": 0.0}, "canary_percent", "outside 0.1-100"),
    ({"strategy": "linear", "linear_step_percent": 33.33}, "linear_step_percent", "not a multiple of 0.1"),
    ({"strategy": "linear", "linear_step_percent": 3.0, "step_minutes": 60}, "bake_minutes", "over the 1980"),
    ({"strategy": "rolling", "step_minutes": 1}, "step_minutes", "canary and linear only"),
])
def test_refusals_name_the_field(settings: dict[str, Any], field: str, words: str) -> None:
    """CanaryConfiguration / LinearConfiguration ranges and CloudFormation's 33-hour rule (AWS::ECS::Service, cfn-lint's schema
    descriptions), each refused in one line before anything is built."""
    with pytest.raises(ConfigError) as caught:
        DeploymentConfig(**settings)
    assert caught.value.field == field and words in caught.value.problem


def test_linear_steps_are_counted_as_cloudformation_counts_them() -> None:
    """LinearConfiguration: 100/StepPercent - 1 when it divides 100, else floor(100/StepPercent); 11 percent is 9 steps."""
    assert [F.linear_steps(p) for p in (50, 11, 20, 3, 25.5)] == [1, 9, 4, 33, 3]
    assert DeploymentConfig(strategy="linear", linear_step_percent=10.0, step_minutes=100, bake_minutes=1080).planned_minutes == 1980


def test_release_strategy_switches_among_traffic_shifting_strategies_only() -> None:
    shifting = DeploymentConfig(strategy="canary", canary_percent=5.0, step_minutes=7)
    assert check_release_strategy("api", shifting, "linear") == DeploymentConfig(strategy="linear", step_minutes=7)
    assert check_release_strategy("api", shifting, "canary") == shifting
    for deployment, strategy in ((shifting, "rolling"), (None, "blue_green"), (DeploymentConfig(), "canary"), (shifting, "red")):
        with pytest.raises(ConfigError) as caught:
            check_release_strategy("api", deployment, strategy)
        assert caught.value.field == "--strategy"


def test_a_release_strategy_changes_only_the_services_parameters() -> None:
    """`release --strategy linear` on a canary service: the same template file, other parameter values."""
    cfg = parse_config(BASE + "services:\n  - " + SHAPES["service"] % STRATEGIES["canary"] + "\n  - {name: www, image: nginx, port: 80}\n")
    before = compile_stack(cfg)
    after = compile_stack(release.released_config(cfg, {"api": Release("latest")}, strategy="linear"))
    root = lambda c: json.loads(c.files["stack.json"])["Resources"]["ApiService"]["Properties"]  # noqa: E731
    assert root(before)["TemplateURL"] == root(after)["TemplateURL"]
    changed = {k for k in root(after)["Parameters"] if root(before)["Parameters"][k] != root(after)["Parameters"][k]}
    assert changed == {"DeploymentStrategy", "CanaryPercent"} and root(after)["Parameters"]["DeploymentStrategy"] == "LINEAR"
    with pytest.raises(ConfigError, match="www deploys rolling"):
        release.released_config(cfg, {"www": Release("latest")}, strategy="linear")


def test_a_shared_rule_priority_past_the_offset_is_refused() -> None:
    svc = ServiceConfig(name="api", image="nginx", port=80, load_balancer="shared", deployment=DeploymentConfig(strategy="blue_green"))
    assert shifted_priorities(svc, 7) == {"ShiftedRulePriority": 7 + SHIFTED_PRIORITY_OFFSET}
    with pytest.raises(ConfigError, match="no room"):
        shifted_priorities(svc, SHIFTED_PRIORITY_OFFSET + 1)


class ScriptedEcs:
    """ECS answering as for a release in flight: api's deployment IN_PROGRESS, www's done (no deployment listed)."""

    def __init__(self, fail_listing: bool = False) -> None:
        self.stopped: list[dict[str, str]] = []
        self.fail_listing = fail_listing
        self.services = {"arn:svc/api-X": "api", "arn:svc/www-Y": "www", "arn:svc/old-Z": "gone"}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_services"
        return type("P", (), {"paginate": lambda _self, cluster: [{"serviceArns": list(self.services)}]})()

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": [{"serviceArn": a, "status": "ACTIVE", "taskDefinition": f"arn:aws:ecs:us-east-1:1:task-definition/{self.services[a]}:3"}
                             for a in services]}

    def list_service_deployments(self, cluster: str, service: str, status: list[str]) -> dict[str, Any]:
        assert status == ["PENDING", "IN_PROGRESS"]
        if self.fail_listing:
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListServiceDeployments")
        return {"serviceDeployments": [{"serviceDeploymentArn": "arn:deploy/api/1"}] if service == "arn:svc/api-X" else []}

    def stop_service_deployment(self, **kw: str) -> None:
        self.stopped.append(kw)


class ScriptedCfn:
    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses, self.cancelled = statuses, []  # type: ignore[var-annotated]

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        if StackName not in self.statuses:
            raise botocore.exceptions.ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}},
                                                  "DescribeStacks")
        return {"Stacks": [{"StackStatus": self.statuses[StackName]}]}

    def cancel_update_stack(self, StackName: str) -> None:  # noqa: N803
        self.cancelled.append(StackName)


def test_abort_rolls_back_in_flight_deployments_then_cancels_updating_stacks() -> None:
    """StopServiceDeployment with stopType ROLLBACK from PENDING or IN_PROGRESS (ECS API reference, "Stopping Amazon ECS service
    deployments"); CancelUpdateStack only in UPDATE_IN_PROGRESS (CloudFormation API)."""
    ecs, cfn = ScriptedEcs(), ScriptedCfn({"app-prod": "UPDATE_IN_PROGRESS", "app-prod-services-1": "UPDATE_COMPLETE"})
    result = abort_release(ecs, cfn, AbortRequest(("app-prod", "app-prod-services-1", "app-prod-services-2"), "app-prod", ("api", "www")))
    assert ecs.stopped == [{"serviceDeploymentArn": "arn:deploy/api/1", "stopType": "ROLLBACK"}]
    assert cfn.cancelled == ["app-prod"] and result.stopped == ("api: arn:deploy/api/1",) and result.problems == ()
    quiet = abort_release(ScriptedEcs(), ScriptedCfn({"app-prod": "UPDATE_COMPLETE"}), AbortRequest(("app-prod",), "app-prod", ("www",)))
    assert quiet.nothing_in_flight


def test_abort_says_what_it_could_not_do_and_still_cancels() -> None:
    ecs, cfn = ScriptedEcs(fail_listing=True), ScriptedCfn({"app-prod": "UPDATE_IN_PROGRESS"})
    result = abort_release(ecs, cfn, AbortRequest(("app-prod",), "app-prod", ("api",)))
    assert cfn.cancelled == ["app-prod"] and result.problems == ("api: ECS did not list or stop its deployments (AccessDeniedException: no)",)


def test_abort_takes_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["release", "--abort", "api=1.2", "-c", "stack.yaml"]) != 0
    assert "--abort: takes no services" in capsys.readouterr().err


def test_lifecycle_hooks_run_lambda_functions_with_a_role_scoped_to_them_or_pause() -> None:
    """AWS::ECS::Service DeploymentLifecycleHook (cfn-lint's schema: LifecycleStages enum, TargetType AWS_LAMBDA or PAUSE); the role ECS
    assumes for Lambda hooks needs lambda:InvokeFunction (ECS developer guide, "Permissions required for Lambda functions in Amazon
    ECS blue/green deployments"), here on the hooks' functions only."""
    smoke = "arn:aws:lambda:us-west-2:123456789012:function:smoke"
    hooks = "[{stage: post_test_traffic_shift, lambda_arn: '" + smoke + "'}, {stage: pre_production_traffic_shift, pause: true}]"
    text = BASE + "services:\n  - " + SHAPES["service"] % ("{strategy: linear, hooks: " + hooks + "}") + "\n"
    resources, _, params = service_of(text)
    config = resolve(resources["Service"]["Properties"]["DeploymentConfiguration"], params, {})
    validate("DeploymentConfiguration", config)
    lambda_hook, pause = config["LifecycleHooks"]
    assert (lambda_hook["TargetType"], lambda_hook["HookTargetArn"], lambda_hook["LifecycleStages"]) == ("AWS_LAMBDA", smoke, ["POST_TEST_TRAFFIC_SHIFT"])
    assert pause == {"LifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"], "TargetType": "PAUSE"}
    (statement,) = resources["DeploymentHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"] and statement["Resource"] == [smoke]
    files = compile_stack(parse_config(text)).files
    assert all(lint_findings(name, body) == [] for name, body in files.items() if name.startswith("service-"))
    resources, _, _ = service_of(BASE + "services:\n  - " + SHAPES["service"] % "{strategy: canary, hooks: [{stage: post_scale_up, pause: true}]}" + "\n")
    assert "DeploymentHookRole" not in resources, "pause hooks need no role"
    assert check_release_strategy("api", DeploymentConfig(strategy="canary", hooks=parse_config(text).services[0].deployment.hooks),  # type: ignore[union-attr]
                                  "blue_green").hooks, "a release's strategy keeps the hooks"
