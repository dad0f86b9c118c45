"""The local AWS: moto in server mode on 127.0.0.1, inside this process."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from stack_cfn.blueprints.bastion_contract import Bastion
from stack_cfn.errors import DeployError
from stack_cfn.model.config import StackConfig
from stack_cfn.ship.aws import AwsTarget

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer


def fill_moto_cloudformation_gaps() -> None:
    """Two CloudFormation behaviours moto 5.2.5 lacks and the templates rely on.

    First, nested stacks' `Fn::GetAtt [Stack, Outputs.Name]` attribute.

    CloudFormation documents that attribute for AWS::CloudFormation::Stack, and
    the root template wires its layers with it. moto 5.2.5 has no such
    attribute on its Stack model: a nested stack's Parameters that use it crash
    the server (AttributeError, HTTP 500), and the root's outputs come back
    empty. This adds exactly that attribute, reading the child's own outputs.
    tests/test_local_aws.py checks, against unpatched moto, that both are still needed.
    """
    from moto.cloudformation.models import Stack

    if getattr(Stack, "_stack_cfn_outputs_attr", False) or "get_cfn_attribute" in Stack.__dict__:
        return

    def get_cfn_attribute(self: Stack, attribute_name: str) -> object:
        if attribute_name.startswith("Outputs."):
            output = self.output_map.get(attribute_name.split(".", 1)[1])
            if output is not None:
                return output.value
        raise NotImplementedError(f"{{0}} has no attribute {attribute_name}")

    Stack.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]  # moto's class, patched at run time (the docstring says which gap)
    Stack._stack_cfn_outputs_attr = True  # type: ignore[attr-defined]  # our mark on moto's class: patched once
    _outputs_after_change_sets()  # second: outputs of stacks made by change sets
    _rds_managed_master_password()  # third: ManageMasterUserPassword on DB instances
    _select_by_reference()  # fourth: Fn::Select with a Ref as its index
    _path_style_template_urls()  # fifth: what `aws cloudformation package` writes against this endpoint
    _stack_set_instance_names()  # sixth: StackSet instances' stacks named as CloudFormation names them
    _ecs_capacity_providers()  # seventh: AWS::ECS::CapacityProvider, which services name in their strategy
    refuse_as_aws_does()  # and where moto accepts what AWS refuses: stack_cfn/ship/strict_local.py


def _stack_set_instance_names() -> None:
    """A StackSet instance's stack is named `StackSet-<stack set name>-<uuid>` by CloudFormation (AWS CloudFormation
    User Guide, "StackSets concepts": a stack instance's stack is named StackSet-<name>-<id>); moto 5.2.5 names it
    `StackSet:<name>`, and the colon reaches every name generated from it (a nested stack's DB instance identifier,
    refused as invalid). This gives the stack CloudFormation's name; tests/test_local_aws.py checks plain moto still lacks it."""
    import uuid

    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.create_stack

    def create_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("StackSet:"):
            name = f"StackSet-{name.split(':', 1)[1]}-{uuid.uuid4()}"
        return original(self, name, *args, **kwargs)

    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    _generated_db_identifiers()


RDS_GENERATED = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")


def _generated_db_identifiers() -> None:
    """An RDS identifier CloudFormation generates is a valid one: 1 to 63 letters, digits and hyphens, a letter first, no
    hyphen last or twice in a row (RDS API reference, CreateDBInstance: DBInstanceIdentifier; CloudFormation reference,
    AWS::RDS::DBInstance: "If you don't specify a name, AWS CloudFormation generates a unique physical ID"). moto 5.2.5
    joins the whole stack name, logical id and a suffix, which a nested stack of a StackSet instance
    (StackSet-<name>-<uuid>-MainDatabase-<suffix>) takes past 63 characters, and then refuses its own name. This keeps
    moto's name within the rule: lowercase, its last 63 characters' worth of stack name trimmed from the front."""
    import re

    from moto.cloudformation import parsing

    original = parsing.generate_resource_name

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = original(resource_type, stack_name, logical_id)
        if resource_type not in RDS_GENERATED:
            return name
        name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower()))[-63:].strip("-")
        return name if name[:1].isalpha() else f"d{name[1:]}"

    parsing.generate_resource_name = generate_resource_name


def _ecs_capacity_providers() -> None:
    """AWS::ECS::CapacityProvider through CloudFormation, on moto's own ECS capacity providers.

    moto 5.2.5's ECS API has capacity providers, but its CloudFormation knows no such resource type: the
    cluster layer's CapacityProvider output comes back empty, its export is never made, and a service
    group's services (which import it for their capacity provider strategy) cannot deploy. This maps
    the resource onto moto's create/delete_capacity_provider; Ref is the provider's name, as in AWS.
    tests/test_local_aws.py checks plain moto still lacks it."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.ecs.models import CapacityProvider, ecs_backends
    from troposphere import ecs

    name_property = next(iter(ecs.CapacityProvider("P", Name="-").properties))  # the property that names it

    if "AWS::ECS::CapacityProvider" in parsing.get_model_map():
        return

    class CfnCapacityProvider(CapacityProvider, CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return name_property

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ECS::CapacityProvider"

        has_cfn_attr = classmethod(lambda cls, attr: False)
        physical_resource_id = property(lambda self: self.name)

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str,
                                            **kwargs: object) -> CapacityProvider:
            group = cloudformation_json.get("Properties", {}).get("AutoScalingGroupProvider", {})
            details = {"autoScalingGroupArn": group.get("AutoScalingGroupArn", ""), "managedDraining": group.get("ManagedDraining", "ENABLED"),
                       "managedTerminationProtection": group.get("ManagedTerminationProtection", "DISABLED"),
                       "managedScaling": {k[0].lower() + k[1:]: v for k, v in (group.get("ManagedScaling") or {}).items()}}
            backend = ecs_backends[account_id][region_name]
            provider = cls(account_id, region_name, resource_name, details, None)
            backend.capacity_providers[resource_name] = provider
            return provider

        @classmethod
        def update_from_cloudformation_json(cls, original_resource: CapacityProvider, new_resource_name: str, cloudformation_json: dict,
                                            account_id: str, region_name: str) -> CapacityProvider:
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str) -> None:
            ecs_backends[account_id][region_name].capacity_providers.pop(resource_name, None)

        def is_created(self) -> bool:
            return True

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def refuse_as_aws_does() -> None:
    from stack_cfn.ship import strict_local

    strict_local.install()


def _select_by_reference() -> None:
    """`Fn::Select` whose index is a Ref (CloudFormation allows Ref and Fn::FindInMap there).

    moto 5.2.5 calls int() on the index as written, so a service on a shared load balancer (which
    picks its listener by its BalancerIndex parameter) crashes the server. This resolves the index
    first, with moto's own resolver, and leaves the rest to moto."""
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::Select"), list) and isinstance(resource_json["Fn::Select"][0], dict):
            index = original(resource_json["Fn::Select"][0], resources_map)
            resource_json = {"Fn::Select": [index, *resource_json["Fn::Select"][1:]]}
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _path_style_template_urls() -> None:
    """TemplateURLs on the local AWS's own address, path-style: `<endpoint>/<bucket>/<key>`.

    `aws cloudformation package` writes each nested TemplateURL as its S3 client's endpoint, then
    `/<bucket>/<key>` (awscli's S3Uploader.to_path_style_s3_url); against AWS that is the path-style
    `https://s3.amazonaws.com/<bucket>/<key>`, which CloudFormation accepts ("AWS::CloudFormation::Stack",
    TemplateURL: "the URL must point to a template located in an S3 bucket"). Against the local AWS
    (AWS_ENDPOINT_URL=http://127.0.0.1:PORT) the host is the loopback address, and moto 5.2.5 reads its
    first label as the bucket ("127"): every nested stack fails with NoSuchBucket. A loopback URL is
    read as path-style, which is how the local AWS serves S3. tests/test_dropin.py checks plain moto
    still needs it."""
    from urllib.parse import urlsplit

    from moto.cloudformation import models, responses, utils

    original = utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        parts = urlsplit(template_url)
        if parts.hostname in ("127.0.0.1", "::1"):
            template_url = f"https://s3.amazonaws.com{parts.path}"
        return original(template_url, account_id=account_id, partition=partition)

    models.get_stack_from_s3_url = responses.get_stack_from_s3_url = get_stack_from_s3_url


def _outputs_after_change_sets() -> None:
    """Stacks made by change sets (stack-cfn deploy, aws cloudformation deploy)
    get what moto's create_stack gives its stacks.

    moto 5.2.5 makes such a stack without the region's exports, so its
    Fn::ImportValue finds none, and computes its outputs when the Stack object
    is made, before any resource exists, never registering its exports. Give
    the stack the exports when the change set is made; after executing,
    recompute outputs the way moto's own update path does and register the
    exports as create_stack does."""
    from moto.cloudformation.models import CloudFormationBackend

    original_create = CloudFormationBackend.create_change_set

    def create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
        result = original_create(self, *args, **kwargs)
        for stack in self.stacks.values():
            if stack.status == "REVIEW_IN_PROGRESS" and not stack.cross_stack_resources:
                stack.cross_stack_resources = self.exports
                stack.resource_map.cross_stack_resources = self.exports
        return result

    CloudFormationBackend.create_change_set = create_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if change_set is None:
            return
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()  # moto set .template but kept the parse of the empty one
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)


def _rds_managed_master_password() -> None:
    """DB instances made by CloudFormation with ManageMasterUserPassword, and `GetAtt Db.MasterUserSecret.SecretArn`.

    moto 5.2.5's RDS API makes the managed secret (create_db_instance with
    manage_master_user_password), but its CloudFormation mapping drops the property and knows no
    MasterUserSecret attribute, so a database template cannot be deployed at all. This passes the
    property to moto's own implementation (which creates the secret in moto's Secrets Manager) and
    answers the attribute from it. tests/test_local_aws.py checks plain moto still needs it.
    """
    from moto.rds.models import DBInstance, MasterUserSecret

    original = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # a classmethod's function, to wrap it

    def create(cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str, **kwargs: object) -> DBInstance:
        database = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        managed = str(cloudformation_json.get("Properties", {}).get("ManageMasterUserPassword", "")).lower() == "true"
        if managed and not database.manage_master_user_password:
            database.manage_master_user_password = True
            database.master_user_secret = MasterUserSecret(database, None)
        return database

    DBInstance.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]  # moto's class, patched at run time (the docstring says which gap)
    plain_attribute = DBInstance.get_cfn_attribute

    def get_cfn_attribute(self: DBInstance, attribute_name: str) -> object:
        if attribute_name == "MasterUserSecret.SecretArn" and getattr(self, "master_user_secret", None) is not None:
            return self.master_user_secret.secret_arn
        return plain_attribute(self, attribute_name)

    DBInstance.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]  # moto's class, patched at run time (the docstring says which gap)
    plain_has = DBInstance.has_cfn_attr.__func__  # type: ignore[attr-defined]  # a classmethod's function, to wrap it
    DBInstance.has_cfn_attr = classmethod(lambda cls, attr: attr == "MasterUserSecret.SecretArn" or plain_has(cls, attr))  # type: ignore[assignment]  # moto's class, patched at run time (the docstring says which gap)


def local_ubuntu_ami(target: AwsTarget) -> str:
    images = target.client("ec2").describe_images(Filters=[{"Name": "name", "Values": ["ubuntu/images/*"]}])["Images"]
    return str(sorted(images, key=lambda i: i.get("Name", ""))[-1]["ImageId"])


def check_port_free(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DeployError(f"--port: 127.0.0.1:{port} is in use ({exc.strerror}); choose another port or leave --port out") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalAws:
    """`with LocalAws() as target:` starts moto on a free loopback port and stops it after."""

    def __init__(self, region: str = "us-east-1", port: int | None = None) -> None:
        self.region = region
        self.port = port or free_port()
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> AwsTarget:
        """Start moto on 127.0.0.1:port; a busy port or a server that does not come up is a one-line error, never a wait."""
        from moto.server import (
            ThreadedMotoServer,  # moto is heavy; only the local path pays for it
        )

        check_port_free(self.port)
        fill_moto_cloudformation_gaps()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        # ThreadedMotoServer.start() waits, without a bound, for a server that a failed bind never makes.
        failures: list[OSError] = []

        def serve() -> None:
            try:
                server._server_entry()
            except OSError as exc:
                failures.append(exc)

        server._thread = threading.Thread(target=serve, daemon=True)
        server._thread.start()
        deadline = time.monotonic() + timeout
        while not server._server_ready_event.wait(0.1):
            if failures or time.monotonic() > deadline:
                why = failures[0].strerror if failures else f"not ready within {timeout:.0f} s"
                raise DeployError(f"--port: the local AWS could not start on 127.0.0.1:{self.port} ({why}); choose another port or leave --port out")
        self._server = server
        return AwsTarget(region=self.region, endpoint_url=self.endpoint_url)

    def prepare_for(self, cfg: StackConfig, target: AwsTarget) -> dict[str, str]:
        """What a real account has before a first deploy (the key pair), and the parameters the local AWS needs.

        moto has no Canonical public SSM parameters, so the bastion is given an
        Ubuntu image from moto's own catalogue instead of resolving one.
        """
        ec2 = target.client("ec2")
        if not ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [cfg.key_name]}])["KeyPairs"]:
            ec2.create_key_pair(KeyName=cfg.key_name)
        return {Bastion.BastionAmi.name: local_ubuntu_ami(target)} if not cfg.bastion_ami else {}

    @staticmethod
    def summary(target: AwsTarget, stack_name: str) -> dict[str, object]:
        """A short account of what the deploy created, read back through the service APIs."""
        ec2 = target.client("ec2")
        cfn = target.client("cloudformation")
        ecs = target.client("ecs")
        stacks = [s["StackName"] for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]
                  if s["StackName"].startswith(stack_name)]
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["*"]}])["Vpcs"]
        clusters = ecs.list_clusters()["clusterArns"]
        services = sum(len(ecs.list_services(cluster=c)["serviceArns"]) for c in clusters)
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        albs = target.client("elbv2").describe_load_balancers()["LoadBalancers"]
        classic = target.client("elb").describe_load_balancers()["LoadBalancerDescriptions"]
        route53 = target.client("route53")
        records = [
            r["Name"].rstrip(".")
            for z in route53.list_hosted_zones()["HostedZones"]
            for r in route53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
            if r["Type"] == "A"
        ]
        return {
            "stacks (root + nested)": len(stacks),
            "VPCs": ", ".join(v["CidrBlock"] for v in vpcs),
            "subnets": len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]}])["Subnets"]) if vpcs else 0,
            "NAT gateways": len(ec2.describe_nat_gateways()["NatGateways"]),
            "EC2 instances": len(instances),
            "ECS clusters": len(clusters),
            "ECS services": services,
            "load balancers": f"{len(albs)} application, {len(classic)} classic",
            "DNS records": ", ".join(sorted(records)) or "none",
        }

    def wait(self, say: Callable[[str], None] = print, ready: str = "") -> None:
        """Block until Ctrl-C (SIGINT) or SIGTERM.

        A process started with SIGINT ignored (an asynchronous command of a
        non-interactive shell, nohup) inherits that, and Python then never
        turns Ctrl-C into KeyboardInterrupt: say so, and stop on SIGTERM too.
        """
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if ready:
            say(ready)  # only now: a SIGTERM from whoever reads this is handled
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            say(f"this process ignores Ctrl-C (it was started with SIGINT ignored); stop it with: kill {os.getpid()}")
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)

    def stop(self, timeout: float = 10) -> bool:
        """Stop the server, waiting at most `timeout` seconds; False if it did not stop in time
        (its threads are daemons and end with this process)."""
        if self._server is None:
            return True
        server, self._server = self._server, None
        stopper = threading.Thread(target=server.stop, daemon=True)
        stopper.start()
        stopper.join(timeout)
        return not stopper.is_alive()

    def __enter__(self) -> AwsTarget:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
