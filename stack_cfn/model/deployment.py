"""Release strategies: how ECS rolls a new revision of a service out (`deployment:`, per service or a stack default).

`rolling` replaces tasks in place (ECS's default, with the circuit breaker). `blue_green`, `canary` and
`linear` start the new revision beside the old one and shift production traffic on the load balancer's
listener rule: all at once, a canary share first, or in equal steps; after the shift the old revision
keeps running for `bake_minutes`, so a rollback is a weight flip, not a relaunch. ECS does all of it
natively (AWS::ECS::Service DeploymentConfiguration.Strategy, no CodeDeploy); docs/deployments.md.

Each AWS rule is written once in model/aws_facts.py (section "deployment strategies") with its source
and checked here, at build time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stack_cfn.errors import ConfigError
from stack_cfn.model import aws_facts as F
from stack_cfn.model import rules as R
from stack_cfn.model.checks import Check, check_fields, setting

Strategy = Literal["rolling", "blue_green", "canary", "linear"]
STRATEGIES: tuple[str, ...] = ("rolling", "blue_green", "canary", "linear")
TRAFFIC_SHIFTING: tuple[str, ...] = ("blue_green", "canary", "linear")
STRATEGY = R.OneOf(STRATEGIES, "a release strategy", "use rolling, blue_green, canary or linear")
MINUTES = R.Range(0, F.DEPLOYMENT_MAX_MINUTES, f"use 0 to {F.DEPLOYMENT_MAX_MINUTES} minutes")
# What stack-cfn chooses where ECS has no default of its own (ECS's bake time is 15 minutes).
DEFAULT_BAKE_MINUTES = F.DEFAULT_BAKE_MINUTES
DEFAULT_CANARY_PERCENT = 10.0
DEFAULT_LINEAR_STEP_PERCENT = 20.0
DEFAULT_STEP_MINUTES = 5


def ecs_name(strategy: str) -> str:
    """The strategy as ECS spells it: blue_green -> BLUE_GREEN."""
    return strategy.upper()


def _percent_problem(value: float, low: float, what: str) -> str | None:
    if not low <= value <= 100:
        return f"{value:g} is outside {low:g}-100 ({what})"
    if abs(round(value * 10) - value * 10) > 1e-9:
        return f"{value:g} is not a multiple of 0.1 ({what})"
    return None


LAMBDA_ARN = R.Pattern(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?", "a Lambda function ARN",
                       "write it like arn:aws:lambda:us-east-1:123456789012:function:smoke-test")
HOOK_STAGE = R.OneOf(tuple(stage.lower() for stage in F.HOOK_STAGES), "a deployment lifecycle stage")


@dataclass(frozen=True)
class LifecycleHook:
    """A Lambda function ECS runs at a stage of a blue/green, canary or linear deployment (its answer can roll the deployment
    back), or a pause until someone continues it (aws ecs continue-service-deployment)."""

    stage: str = setting(rule=HOOK_STAGE, doc="when: reconcile_service, pre_scale_up, post_scale_up, test_traffic_shift, post_test_traffic_shift, "
                                              "pre_production_traffic_shift, production_traffic_shift or post_production_traffic_shift")
    lambda_arn: str = setting("", rule=LAMBDA_ARN.with_optional(), doc="the function ECS invokes (in the stack's region)")
    pause: bool = setting(False, doc="pause the deployment here instead (not at test_traffic_shift or production_traffic_shift)")

    def __post_init__(self) -> None:
        check_fields(self, "")
        if bool(self.lambda_arn) == self.pause:
            raise ConfigError("lambda_arn", "a hook is a Lambda function or a pause, one of them", "give lambda_arn, or pause: true")
        if self.pause and self.stage.upper() in F.LAMBDA_ONLY_STAGES:
            raise ConfigError("pause", f"cannot stop at {self.stage}, which runs Lambda hooks only ({F.HOOKS_SOURCE})",
                              "pause at post_test_traffic_shift or pre_production_traffic_shift instead")

    @property
    def ecs_stage(self) -> str:
        return self.stage.upper()


@dataclass(frozen=True)
class DeploymentConfig:
    """How a service's new revisions go out: `strategy` and its timing."""

    strategy: Strategy = setting("rolling", rule=STRATEGY,
                                 doc="rolling (replace tasks in place), blue_green (shift all traffic at once), canary (a share first) "
                                     "or linear (equal steps)")
    bake_minutes: int | None = setting(None, rule=MINUTES,
                                       doc=f"minutes the old revision keeps running after the full shift, for an instant rollback "
                                           f"(default {DEFAULT_BAKE_MINUTES} with blue_green, canary and linear; none with rolling)")
    canary_percent: float | None = setting(None, doc=f"canary: share of production traffic shifted first, 0.1-100 in steps of 0.1 "
                                                     f"(default {DEFAULT_CANARY_PERCENT:g})")
    linear_step_percent: float | None = setting(None, doc=f"linear: share shifted per step, {F.LINEAR_STEP_MIN_PERCENT:g}-100 in steps of 0.1 "
                                                          f"(default {DEFAULT_LINEAR_STEP_PERCENT:g})")
    step_minutes: int | None = setting(None, rule=MINUTES, doc=f"canary and linear: minutes between shifts (default {DEFAULT_STEP_MINUTES})")
    hooks: tuple[LifecycleHook, ...] = setting((), doc="blue_green, canary and linear: Lambda functions or pauses at lifecycle stages "
                                                       "(docs/deployments.md)")

    def __post_init__(self) -> None:
        check_fields(self, "")
        for field, low in (("canary_percent", F.CANARY_MIN_PERCENT), ("linear_step_percent", F.LINEAR_STEP_MIN_PERCENT)):
            value = getattr(self, field)
            problem = None if value is None else _percent_problem(value, low, F.TRAFFIC_PERCENT_SOURCE)
            if problem:
                raise ConfigError(field, problem, f"use a percent from {low:g} to 100 with at most one decimal, e.g. {low:g}")
        for check in DEPLOYMENT_CHECKS:
            check.apply(self, "")

    @property
    def shifts_traffic(self) -> bool:
        return self.strategy in TRAFFIC_SHIFTING

    @property
    def bake(self) -> int | None:
        """BakeTimeInMinutes: ECS requires it with BLUE_GREEN (DeploymentConfiguration API); with rolling only when given."""
        return self.bake_minutes if self.bake_minutes is not None or not self.shifts_traffic else DEFAULT_BAKE_MINUTES

    @property
    def canary(self) -> float:
        return self.canary_percent if self.canary_percent is not None else DEFAULT_CANARY_PERCENT

    @property
    def linear_step(self) -> float:
        return self.linear_step_percent if self.linear_step_percent is not None else DEFAULT_LINEAR_STEP_PERCENT

    @property
    def step(self) -> int:
        return self.step_minutes if self.step_minutes is not None else DEFAULT_STEP_MINUTES

    @property
    def planned_minutes(self) -> int:
        """The deployment time CloudFormation computes from the template before it accepts a canary or linear deployment."""
        return F.planned_deployment_minutes(self.strategy, self.bake or 0, self.step, self.linear_step)

    def with_strategy(self, strategy: str) -> DeploymentConfig:
        """The same timing under another strategy (`release --strategy`): settings of the old strategy that the new one lacks are dropped."""
        return DeploymentConfig(strategy=strategy, bake_minutes=self.bake_minutes,  # type: ignore[arg-type]  # checked by STRATEGY
                                canary_percent=self.canary_percent if strategy == "canary" else None,
                                linear_step_percent=self.linear_step_percent if strategy == "linear" else None,
                                step_minutes=self.step_minutes if strategy in ("canary", "linear") else None, hooks=self.hooks)


def _only_with(field: str, *strategies: str) -> Check[DeploymentConfig]:
    said = " and ".join(strategies)
    return Check(f"{field} is for {said}", field, lambda d: getattr(d, field) is not None and d.strategy not in strategies,
                 lambda d: f"applies to strategy {said} only, and this one is {d.strategy}", f"remove it, or use strategy: {strategies[0]}")


DEPLOYMENT_CHECKS: tuple[Check[DeploymentConfig], ...] = (
    _only_with("canary_percent", "canary"),
    _only_with("linear_step_percent", "linear"),
    _only_with("step_minutes", "canary", "linear"),
    Check("hooks are for traffic shifting", "hooks", lambda d: d.hooks and not d.shifts_traffic,
          "run at the stages of blue_green, canary and linear deployments, and this one is rolling",
          "remove them, or use strategy: blue_green"),
    Check("at most 10 hooks of a kind", "hooks", lambda d: max(sum(1 for h in d.hooks if h.pause), sum(1 for h in d.hooks if not h.pause))
          > F.MAX_HOOKS_PER_KIND, f"holds more than {F.MAX_HOOKS_PER_KIND} Lambda hooks or pause hooks ({F.HOOKS_SOURCE})",
          f"keep at most {F.MAX_HOOKS_PER_KIND} of each"),
    Check("the deployment fits CloudFormation's limit", "bake_minutes", lambda d: d.planned_minutes > F.CFN_DEPLOYMENT_LIMIT_MINUTES,
          lambda d: f"makes a {d.strategy} deployment of {d.planned_minutes} minutes by CloudFormation's count, over the "
                    f"{F.CFN_DEPLOYMENT_LIMIT_MINUTES} it accepts ({F.CFN_DEPLOYMENT_LIMIT_SOURCE})",
          "shorten bake_minutes or step_minutes (or use fewer, larger linear steps)"),
)


# ---------------------------------------------------------------- the early stop (ship/watch.py): when a deploy stops waiting

# The ECS deployment circuit breaker fails a deployment after "a minimum threshold of 3 and a maximum threshold of 200"
# failed tasks (0.5 x desired count in between): ECS API reference, ServiceDeploymentCircuitBreaker,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html
CIRCUIT_BREAKER_MIN_FAILURES = 3
CIRCUIT_BREAKER_MAX_FAILURES = 200
DEFAULT_FAILED_TASKS = CIRCUIT_BREAKER_MIN_FAILURES
DEFAULT_WITHIN_MINUTES = 5
DEFAULT_UNPLACEABLE_MINUTES = 10
# 2: two tasks of the same new deployment stopping for the same reason already rule out a one-off (a reclaimed Spot host,
# a draining instance); one stop cannot tell a crash loop from bad luck. 200: the circuit breaker's own maximum: with the
# breaker on, ECS fails the deployment before a higher count is ever reached.
FAILED_TASKS = R.Range(2, CIRCUIT_BREAKER_MAX_FAILURES, f"use 2 to {CIRCUIT_BREAKER_MAX_FAILURES} (one stop cannot tell a crash loop from "
                                                        f"bad luck; ECS's circuit breaker stops at {CIRCUIT_BREAKER_MAX_FAILURES} on its own)")
# 1: ECS is read every 15 s and a task takes tens of seconds to start and stop, so a narrower window never holds two stops.
# 60: the default --timeout; stops an hour apart are unrelated failures (a nightly out-of-memory), not a crash loop.
WITHIN_MINUTES = R.Range(1, 60, "use 1 to 60 minutes (stops an hour apart are not a crash loop)")
# 5: an Auto Scaling group (or managed scaling) takes minutes to launch an instance and register it with the cluster;
# a shorter wait cancels releases that capacity would have caught up with. 60: the deploy's own default --timeout; a
# longer wait would outlast the wait it is meant to shorten.
UNPLACEABLE_MINUTES = R.Range(5, 60, "use 5 to 60 minutes (new instances take minutes to join the cluster; a deploy waits 60 by default)")


@dataclass(frozen=True)
class EarlyStop:
    """When a deploy or release stops waiting for a service whose new tasks keep failing (docs/deployments-watch.md):
    `failed_tasks` tasks of its new deployment stopped for the same reason within `within_minutes`, or ECS unable to place
    its tasks for `unplaceable_minutes`."""

    failed_tasks: int = setting(DEFAULT_FAILED_TASKS, rule=FAILED_TASKS,
                                doc=f"stop after this many tasks of the new deployment stopped for the same reason (default {DEFAULT_FAILED_TASKS}, "
                                    f"the circuit breaker's minimum)")
    within_minutes: int = setting(DEFAULT_WITHIN_MINUTES, rule=WITHIN_MINUTES,
                                  doc=f"the window those stops fall in, in minutes (default {DEFAULT_WITHIN_MINUTES})")
    unplaceable_minutes: int = setting(DEFAULT_UNPLACEABLE_MINUTES, rule=UNPLACEABLE_MINUTES,
                                       doc=f"stop when ECS has said it cannot place the new tasks for this long (default {DEFAULT_UNPLACEABLE_MINUTES})")

    def __post_init__(self) -> None:
        check_fields(self, "")


# ---------------------------------------------------------------- what a service's shape allows


def _strategy(s: Any) -> str:
    return s.deployment.strategy if s.deployment is not None else "rolling"


def _shifts(s: Any) -> bool:
    return s.deployment is not None and s.deployment.shifts_traffic


SERVICE_DEPLOYMENT_CHECKS: tuple[Check[Any], ...] = (
    Check("a worker has no traffic to shift", "deployment.strategy", lambda s: _shifts(s) and not s.has_balancer,
          lambda s: f"{_strategy(s)} shifts traffic on a load balancer, and a worker has none ({F.TRAFFIC_SHIFTING_SOURCE})",
          "use strategy: rolling, or remove deployment: (a stack default applies to services with a load balancer only)"),
    Check("traffic shifting needs an ALB", "deployment.strategy", lambda s: _shifts(s) and s.balancer is not None and not s.balancer.is_alb,
          lambda s: f"{_strategy(s)} shifts traffic on listener rules of an application load balancer, which a classic ELB has not "
                    f"({F.TRAFFIC_SHIFTING_SOURCE})",
          "use load_balancer: application or shared, or deployment: {strategy: rolling}"),
)


def check_release_strategy(service: str, deployment: DeploymentConfig | None, strategy: str) -> DeploymentConfig:
    """`release --strategy S` for one release: switching among blue_green, canary and linear only changes parameters of the
    service's template; rolling and traffic shifting are different templates (a listener rule, a second target group)."""
    problem = STRATEGY.problem(strategy)
    if problem:
        raise ConfigError("--strategy", problem, STRATEGY.fix_text)
    if strategy not in TRAFFIC_SHIFTING or deployment is None or not deployment.shifts_traffic:
        now = deployment.strategy if deployment is not None else "rolling"
        raise ConfigError("--strategy", f"{service} deploys {now}, and a release can only switch among blue_green, canary and linear "
                          "(the other strategies need a different template)",
                          f"set deployment: {{strategy: {strategy}}} for {service} in the stack file and deploy it")
    return deployment.with_strategy(strategy)
