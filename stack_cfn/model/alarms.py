"""Alarms and notifications: the stack's `alarms:` and a service's overrides of its thresholds.

With `alarms:` absent nothing is made. With it, the network layer makes an SNS topic (or uses
`topic_arn`) with e-mail subscriptions; NAT gateways alarm on port-allocation errors; the
cluster alarms when fewer instances are in service than ecs_min_size and sends the Auto Scaling
group's launch and terminate notifications; every service alarms on CPU and memory, on fewer
running tasks than desired, and behind a load balancer on target 5xx responses and unhealthy
targets. A service's own `alarms:` overrides the stack's thresholds for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack_cfn.model import rules as R
from stack_cfn.model.checks import check_fields, setting

EMAIL = R.Pattern(r"[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}", "an e-mail address", "write it like ops@example.com")
SNS_TOPIC_ARN = R.Pattern(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", "an SNS topic ARN",
                          "write it like arn:aws:sns:us-east-1:123456789012:alerts")
FIVE_XX = R.Range(1, 1_000_000, "use a number of responses per 5 minutes, 1 or more")
UNHEALTHY = R.Range(1, 1000, "use a number of targets, 1 or more")
MINUTES = R.Range(1, 1440, "use 1 to 1440 minutes")
PORT_ERRORS = R.Range(1, 1_000_000, "use a number of errors per 5 minutes, 1 or more")


@dataclass(frozen=True)
class ServiceAlarms:
    """A service's thresholds: the stack's, with the service's own `alarms:` on top."""

    cpu_high: int = setting(80, rule=R.PERCENT, doc="alarm when the service's average CPU stays at or above this percent for 10 minutes")
    memory_high: int = setting(80, rule=R.PERCENT, doc="the same for memory")
    http_5xx: int = setting(10, rule=FIVE_XX, doc="alarm on this many target 5xx responses in 5 minutes (services with a load balancer)")
    unhealthy_targets: int = setting(1, rule=UNHEALTHY, doc="alarm when this many targets stay unhealthy for 10 minutes")
    tasks_missing_minutes: int = setting(10, rule=MINUTES, doc="alarm when fewer tasks run than desired for this many minutes")

    def __post_init__(self) -> None:
        check_fields(self, "")


THRESHOLDS = tuple(f for f in ServiceAlarms.__dataclass_fields__)


@dataclass(frozen=True)
class AlarmsConfig:
    topic_arn: str = setting("", rule=SNS_TOPIC_ARN.with_optional(), doc="an existing SNS topic to notify; empty: the stack makes one")
    emails: tuple[str, ...] = setting((), each=EMAIL, doc="addresses subscribed to the stack's topic (each confirms by mail)")
    cpu_high: int = setting(80, rule=R.PERCENT, doc="services: CPU percent (10 minutes)")
    memory_high: int = setting(80, rule=R.PERCENT, doc="services: memory percent (10 minutes)")
    http_5xx: int = setting(10, rule=FIVE_XX, doc="services: target 5xx responses in 5 minutes")
    unhealthy_targets: int = setting(1, rule=UNHEALTHY, doc="services: unhealthy targets (10 minutes)")
    tasks_missing_minutes: int = setting(10, rule=MINUTES, doc="services: minutes with fewer tasks running than desired")
    nat_port_errors: int = setting(1, rule=PORT_ERRORS, doc="NAT gateways: port-allocation errors in 5 minutes")
    asg_notifications: bool = setting(True, doc="the Auto Scaling group's launch, terminate and error notifications to the topic")

    def __post_init__(self) -> None:
        check_fields(self, "")
        if self.topic_arn and self.emails:
            from stack_cfn.errors import ConfigError

            raise ConfigError("emails", "subscribes addresses to the stack's own topic, but topic_arn names an existing one",
                              "subscribe the addresses where that topic is managed, or drop topic_arn")

    @property
    def service_defaults(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in THRESHOLDS}
