"""What layer and data-module contracts share: the stack's name rows, shared types, the alarm predicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stack_cfn.blueprints.contract import Contract, Param, ParamOptions, PerService, RootName, S, always
from stack_cfn.model import alarms as ALARM
from stack_cfn.model import rules as R

SSM_IMAGE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
SG = "AWS::EC2::SecurityGroup::Id"


def alarmed(shape: object) -> bool:
    """A stack (or service) with alarms: on."""
    return getattr(shape, "alarms", None) is not None


ALARM_TOPIC = ALARM.SNS_TOPIC_ARN.with_optional()


class Layer(Contract[S]):
    """What network, cluster and bastion declare alike."""

    Name = Param("Stack name, used in resource names and tags", setting="name", required=True)
    Environment = Param("Environment, e.g. prod", setting="environment", required=True)
    ExportPrefix = Param("Prefix of this stack's export names (<prefix>-<Output>); empty means this stack's name",
                         rule=R.STACK_NAME.with_optional(), default="", supply=RootName())


def literal(read: Callable[[Any], Any], when: Callable[[Any], bool] = always, required: bool = False) -> ParamOptions:
    """A database or user template's own value: the default, and what the root passes, both from the description."""
    return ParamOptions(default=read, value=read, supply=PerService(), when=when, required=required)


class DataLayer(Contract[S]):
    """What database and user templates declare alike: their name and the stack they belong to."""

    StackName = Param("Stack whose exports (<StackName>-<Output>) fill the empty wiring parameters; also the export prefix",
                      rule=R.STACK_NAME.with_optional(), default="", supply=RootName())
