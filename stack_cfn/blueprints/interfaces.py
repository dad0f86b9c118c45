"""Every template interface of the stack, declared once: parameters, outputs, exports, wiring.

Read a class as the template's contract: its parameters (with type, the model
rule that constrains them, the default and how the root supplies them) and
its outputs (each exported as `<ExportPrefix>-<Output>` unless marked not).
The builders, the root's wiring, standalone imports, StackSets and the
reference docs all read these rows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from troposphere import Ref, Region

from stack_cfn.blueprints.contract import Assigned, Contract, FromDatabase, Out, Param, ParamFamily, PerService, RootName, Wired
from stack_cfn.model import alarms as ALARM
from stack_cfn.model import deployment as DEPLOY
from stack_cfn.model import rules as R
from stack_cfn.model.data import IAM_USER_NAME

NAT_AMI_SSM = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ECS_AMI_SSM = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
UBUNTU_AMI_SSM = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
SSM_IMAGE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
SG = "AWS::EC2::SecurityGroup::Id"


def _alarmed(shape: object) -> bool:
    """A stack (or service) with alarms: on."""
    return getattr(shape, "alarms", None) is not None


ALARM_TOPIC = ALARM.SNS_TOPIC_ARN.with_optional()


class Layer(Contract):
    """What network, cluster and bastion declare alike."""

    Name = Param("Stack name, used in resource names and tags", setting="name", required=True)
    Environment = Param("Environment, e.g. prod", setting="environment", required=True)
    ExportPrefix = Param("Prefix of this stack's export names (<prefix>-<Output>); empty means this stack's name",
                         rule=R.STACK_NAME.with_optional(), default="", supply=RootName())


class Network(Layer):
    logical_id = "NetworkStack"
    filename = "network.json"

    Cidr = Param("VPC CIDR (a private /16 by default)", rule=R.CIDR_SHAPE, default=lambda c: str(c.plan.vpc))
    InternalSubnetCidr = ParamFamily("InternalSubnet{}Cidr", "CIDR of internal subnet {}", lambda c: c.zone_count,
                                     lambda c, i: str(c.plan.internal[i]), rule=R.CIDR_SHAPE)
    ExternalSubnetCidr = ParamFamily("ExternalSubnet{}Cidr", "CIDR of external subnet {}", lambda c: c.zone_count,
                                     lambda c, i: str(c.plan.external[i]), rule=R.CIDR_SHAPE)
    AvailabilityZone = ParamFamily("AvailabilityZone{}", "Availability zone {0}; empty picks the region's zone number {0}", lambda c: c.zone_count,
                                   lambda c, i: c.availability_zones[i] if c.availability_zones else "", rule=R.AZ_NAME.with_optional())
    DomainName = Param("Private DNS zone and DHCP search domain", setting="domain_name")
    SshCidr = Param("Who may reach the bastion on port 22; empty: nobody (use Session Manager)", setting="ssh_cidr")
    FlowLogs = Param("true: VPC flow logs to the log bucket", setting="flow_logs")
    UseNatInstances = Param("true: one NAT EC2 instance per AZ instead of NAT gateways", setting="use_nat_instances")
    UseEipWithNatInstances = Param("true: give NAT instances Elastic IPs", setting="use_eip_with_nat_instances")
    NatInstanceType = Param("NAT instance type", setting="nat_instance_type")
    NatInstanceAmi = Param("SSM parameter (or AMI id) of the NAT instance image", SSM_IMAGE, default=NAT_AMI_SSM)
    NatGateways = Param("per_zone: a NAT gateway in every AZ; one: a single NAT gateway (in AZ 1) for every AZ", setting="nat_gateways")
    S3Endpoint = Param("true: an S3 gateway endpoint on the internal route tables", setting="s3_endpoint")
    LogsExpirationEnabled = Param("true: expire load balancer logs", setting="logs_expiration_enabled")
    LogsExpirationDays = Param("Days before logs expire", "Number", setting="logs_expiration_days")
    LogBucketName = Param("Log bucket name; empty lets CloudFormation pick a unique one", setting="log_bucket_name")
    AlarmTopicArn = Param("An existing SNS topic alarms notify; empty: this stack makes one", rule=ALARM_TOPIC,
                          default=lambda c: c.alarms.topic_arn, when=_alarmed)
    NatPortErrors = Param("Alarm on this many NAT gateway port-allocation errors in 5 minutes", "Number", rule=ALARM.PORT_ERRORS,
                          default=lambda c: c.alarms.nat_port_errors, when=_alarmed)

    VpcId = Out("The VPC")
    Cidr_ = Out("The VPC's CIDR")
    InternalSubnets = Out("Internal subnet ids, comma separated, in AZ order")
    ExternalSubnets = Out("External subnet ids, comma separated, in AZ order")
    AvailabilityZones = Out("Availability zones, comma separated, in subnet order")
    InternalRouteTables = Out("Internal route table ids, comma separated")
    ExternalRouteTables = Out("The external route table id")
    ZoneId = Out("The private hosted zone")
    DomainName_ = Out("The private domain, e.g. stack.local")
    InternalElb = Out("Security group of internal load balancers")
    ExternalElb = Out("Security group of public load balancers")
    ExternalSsh = Out("Security group admitting SSH from the allowed range")
    InternalSsh = Out("Security group admitting SSH from the bastion")
    VpcSecurityGroup = Out("The VPC's default security group")
    LogBucketId = Out("Bucket of load balancer access logs")
    InternalNatIps = Out("Public IPs that internal traffic leaves from")
    AlarmTopic = Out("SNS topic every alarm of the stack notifies", when=_alarmed)


class Cluster(Layer):
    logical_id = "ClusterStack"
    filename = "cluster.json"

    EcsClusterName = Param("ECS cluster name; empty uses <Name>-<Environment>", setting="ecs_cluster_name")
    KeyName = Param("EC2 key pair for SSH to the instances; empty for none (Session Manager reaches them)", setting="key_name")
    AllowContainerImds = Param("true: containers may reach the instance metadata service (hop limit 2, no block)", setting="allow_container_imds")
    VpcId = Param("The stack's VPC", "AWS::EC2::VPC::Id", supply=Wired(lambda c: Network.VpcId))
    InternalSubnets = Param("Internal subnets the instances run in", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.InternalSubnets))
    InternalSsh = Param("Members may SSH to instances (the bastion)", SG, supply=Wired(lambda c: Network.InternalSsh))
    InternalElb = Param("Internal load balancers", SG, supply=Wired(lambda c: Network.InternalElb))
    ExternalElb = Param("Public load balancers", SG, supply=Wired(lambda c: Network.ExternalElb))
    ExtraSecurityGroup = ParamFamily("ExtraSecurityGroup{}", "A further group whose members reach the instances",
                                     lambda c: len(c.ecs_security_groups), lambda c, i: c.ecs_security_groups[i], rule=R.SG_ID)
    EcsAmi = Param("Custom AMI id (e.g. from packer/); empty uses the ECS-optimized AL2023 image", setting="ecs_ami")
    EcsAmiSsmParameter = Param("SSM parameter of the default ECS-optimized image", SSM_IMAGE, default=ECS_AMI_SSM)
    # CloudFormation resolves an SSM-typed parameter again on every stack update, so an image read through
    # EcsAmiSsmParameter changes (and rolls the fleet) whenever AWS publishes one. stack-cfn deploy passes the
    # image it chose (ship/ami.py: the running one, or today's on a first deploy) here instead.
    EcsStockAmi = Param("The ECS-optimized image id the instances run, chosen by stack-cfn deploy and kept until changed on purpose; "
                        "empty resolves EcsAmiSsmParameter on every update", rule=R.AMI_ID.with_optional(), default="")
    EcsInstanceType = Param("Instance type", setting="ecs_instance_type")
    EcsInstanceEbsOptimized = Param("EBS-optimized instances", setting="ecs_instance_ebs_optimized")
    EcsMinSize = Param("Minimum instances", "Number", setting="ecs_min_size")
    EcsMaxSize = Param("Maximum instances", "Number", setting="ecs_max_size")
    EcsRootVolumeSize = Param("Root volume GiB", "Number", setting="ecs_root_volume_size")
    EcsDockerVolumeSize = Param("Docker volume GiB (attached with a custom EcsAmi only)", "Number", setting="ecs_docker_volume_size",
                                when=lambda c: bool(c.ecs_ami))
    EcsDockerAuthType = Param("ECS_ENGINE_AUTH_TYPE (e.g. dockercfg); empty for none", setting="ecs_docker_auth_type")
    EcsDockerAuthSecretArn = Param("Secrets Manager secret with ECS_ENGINE_AUTH_DATA, read by the instance at boot", setting="ecs_docker_auth_secret_arn")
    ExtraCloudConfigType = Param("MIME type of the extra user-data part", setting="extra_cloud_config_type")
    ExtraCloudConfigContent = Param("Extra user-data part", setting="extra_cloud_config_content")
    AlarmTopic = Param("SNS topic of the cluster's alarms and notifications", supply=Wired(lambda c: Network.AlarmTopic), when=_alarmed)

    Cluster = Out("ECS cluster name")
    ClusterArn = Out("ECS cluster ARN")
    EcsClusterSecurityGroupId = Out("Security group of the container instances")
    IamRole = Out("ECS service role ARN (classic ELB registration)", when=lambda c: c.has_classic_services)
    IamRoleDefaultEcsRoleId = Out("Container instance role id")
    InstanceRoleArn = Out("Container instance role ARN")
    InstanceProfile = Out("Container instance profile")
    AutoscalingGroup = Out("Auto scaling group name")
    CapacityProvider = Out("ECS capacity provider of the instances: every service's capacity provider strategy")


class Bastion(Layer):
    logical_id = "BastionStack"
    filename = "bastion.json"
    present = staticmethod(lambda c: c.bastion)

    KeyName = Cluster.KeyName
    SubnetId = Param("External subnet for the bastion", "AWS::EC2::Subnet::Id", supply=Wired(lambda c: Network.ExternalSubnets, first_item=True))
    ExternalSsh = Param("Group admitting SSH from the allowed range", SG, supply=Wired(lambda c: Network.ExternalSsh))
    InternalSsh = Param("Group whose members the instances admit SSH from", SG, supply=Wired(lambda c: Network.InternalSsh))
    BastionInstanceType = Param("Bastion instance type", setting="bastion_instance_type")
    BastionAmi = Param("Custom AMI id; empty uses Canonical's current Ubuntu LTS", setting="bastion_ami")
    # A plain String resolved by a dynamic reference, only when BastionAmi is
    # empty: an SSM-typed parameter is resolved on every deploy, even when an
    # AMI is given, and fails where the public parameter is missing.
    BastionAmiSsmParameter = Param("SSM parameter naming the default image (Canonical's Ubuntu LTS)",
                                   rule=R.Pattern(r"/[A-Za-z0-9_./-]+", "an SSM parameter name", "write it like /aws/service/..."), default=UBUNTU_AMI_SSM)
    BastionRootVolumeSize = Param("Bastion root volume GiB", "Number", setting="bastion_root_volume_size")

    BastionIp = Out("Public IP of the bastion: ssh -A ubuntu@<ip>")
    BastionInstanceId = Out("Bastion instance id, for aws ssm start-session")


@dataclasses.dataclass(frozen=True)
class IngressShape:
    """The ingress layer's shape: the stack, and how many shared load balancers of each scheme it holds."""

    cfg: Any
    internal: int
    public: int

    @property
    def model(self) -> type:
        return type(self.cfg)

    @property
    def https(self) -> bool:
        return bool(self.cfg.shared_certificate_arn)

    def __getattr__(self, name: str) -> Any:
        if name == "cfg":
            raise AttributeError(name)
        return getattr(self.cfg, name)


class Ingress(Layer):
    """ingress.json: the shared internal and public ALBs that services with load_balancer: shared sit behind, by host name.

    Each list output holds one item per load balancer, in order; a service picks item BalancerIndex."""

    logical_id = "IngressStack"
    filename = "ingress.json"
    present = staticmethod(lambda c: bool(getattr(c, "shared_services", ())))

    InternalSubnets = Param("Subnets of the internal load balancers", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.InternalSubnets),
                            when=lambda c: c.internal > 0)
    ExternalSubnets = Param("Subnets of the public load balancers", "List<AWS::EC2::Subnet::Id>", supply=Wired(lambda c: Network.ExternalSubnets),
                            when=lambda c: c.public > 0)
    InternalElb = Param("Security group of internal load balancers", SG, supply=Wired(lambda c: Network.InternalElb), when=lambda c: c.internal > 0)
    ExternalElb = Param("Security group of public load balancers", SG, supply=Wired(lambda c: Network.ExternalElb), when=lambda c: c.public > 0)
    LogBucket = Param("Bucket of load balancer access logs", supply=Wired(lambda c: Network.LogBucketId))
    SharedCertificateArn = Param("Certificate of the public HTTPS listener (every shared web service's name)", setting="shared_certificate_arn",
                                 when=lambda c: c.https and c.public > 0)
    SharedDeletionProtection = Param("true: the shared load balancers cannot be deleted until this is set false",
                                     rule=R.OneOf(("true", "false")), default="false")

    InternalListeners = Out("HTTP listener of each internal shared load balancer, comma separated", when=lambda c: c.internal > 0)
    InternalDnsNames = Out("DNS name of each internal shared load balancer", when=lambda c: c.internal > 0)
    InternalZoneIds = Out("Canonical hosted zone of each internal shared load balancer", when=lambda c: c.internal > 0)
    PublicHttpListeners = Out("HTTP listener of each public shared load balancer", when=lambda c: c.public > 0)
    PublicHttpsListeners = Out("HTTPS listener of each public shared load balancer", when=lambda c: c.public > 0 and c.https)
    PublicDnsNames = Out("DNS name of each public shared load balancer", when=lambda c: c.public > 0)
    PublicZoneIds = Out("Canonical hosted zone of each public shared load balancer", when=lambda c: c.public > 0)
    InternalFullNames = Out("Full name (CloudWatch's LoadBalancer dimension) of each internal shared load balancer", when=lambda c: c.internal > 0)
    PublicFullNames = Out("Full name of each public shared load balancer", when=lambda c: c.public > 0)


def _balanced(s: object) -> bool:
    return getattr(s, "kind", "") != "worker"


class Root(Contract):
    """The root's outputs: the seed's 19, in its order; Region and Environment are the root's own."""

    Region = Out("AWS region of the stack", source=lambda: Region)
    BastionIp = Out("Public IP of the bastion", export=False, source=lambda: Bastion.BastionIp, when=lambda c: c.bastion)
    ZoneId = Out("Private hosted zone id", export=False, source=lambda: Network.ZoneId)
    InternalElb = Out("Security group of internal load balancers", export=False, source=lambda: Network.InternalElb)
    ExternalElb = Out("Security group of public load balancers", export=False, source=lambda: Network.ExternalElb)
    InternalSubnets = Out("Internal subnet ids, comma separated", export=False, source=lambda: Network.InternalSubnets)
    ExternalSubnets = Out("External subnet ids, comma separated", export=False, source=lambda: Network.ExternalSubnets)
    IamRole = Out("ECS service role ARN", export=False, source=lambda: Cluster.IamRole, when=lambda c: c.has_classic_services)
    IamRoleDefaultEcsRoleId = Out("Container instance role id", export=False, source=lambda: Cluster.IamRoleDefaultEcsRoleId)
    LogBucketId = Out("Bucket of load balancer access logs", export=False, source=lambda: Network.LogBucketId)
    DomainName = Out("Private domain", export=False, source=lambda: Network.DomainName_)
    Environment = Out("Environment name", source=lambda: Ref(Layer.Environment.name))
    Cluster = Out("ECS cluster name", export=False, source=lambda: Cluster.Cluster)
    AvailabilityZones = Out("Availability zones, comma separated", export=False, source=lambda: Network.AvailabilityZones)
    VpcSecurityGroup = Out("The VPC's default security group", export=False, source=lambda: Network.VpcSecurityGroup)
    VpcId = Out("The VPC", export=False, source=lambda: Network.VpcId)
    EcsClusterSecurityGroupId = Out("Security group of the container instances", export=False, source=lambda: Cluster.EcsClusterSecurityGroupId)
    InternalRouteTables = Out("Internal route tables, comma separated", export=False, source=lambda: Network.InternalRouteTables)
    ExternalRouteTables = Out("External route table", export=False, source=lambda: Network.ExternalRouteTables)


def _public(s: object) -> bool:
    return getattr(s, "kind", "") == "web-service"


def _classic(s: object) -> bool:
    return _balanced(s) and getattr(s, "load_balancer", "") == "classic"


def _shared(s: object) -> bool:
    return _balanced(s) and getattr(s, "load_balancer", "") == "shared"


def _own_alb(s: object) -> bool:
    return _balanced(s) and getattr(s, "load_balancer", "") == "application"


def _shared_listeners(s: object) -> Out:
    if not _public(s):
        return Ingress.InternalListeners
    return Ingress.PublicHttpListeners if getattr(s, "https", None) is False else Ingress.PublicHttpsListeners


def _http(s: object) -> bool:
    return _balanced(s) and getattr(s, "protocol", "") == "HTTP"


def _scaled(s: object) -> bool:
    return getattr(s, "autoscaling", None) is not None


def _shifting(s: object) -> bool:
    """A service released with blue_green, canary or linear (model/deployment.py)."""
    return bool(getattr(s, "shifts_traffic", False))


def _deploy(read: object, default: object) -> dict[str, object]:
    """A traffic-shifting service's timing: its value from `deployment:`; `release --strategy` changes only these."""
    return {"supply": PerService(), "default": default, "value": lambda s: read(s.deployment), "when": _shifting}  # type: ignore[operator]


def _threshold(attr: str, also: object = None) -> dict[str, object]:
    """An alarm threshold: the template's default is the setting's own default (so alike services share a
    template), the value the service's."""
    default = ALARM.ServiceAlarms.__dataclass_fields__[attr].default
    when = (lambda s: _alarmed(s) and also(s)) if also else _alarmed  # type: ignore[operator]
    return {"default": default, "value": lambda s: getattr(s.alarms, attr), "supply": PerService(), "when": when}


def _scaling(attr: str) -> dict[str, object]:
    """Default and value of an auto-scaling parameter: the service's own setting."""
    read = lambda s: getattr(s.autoscaling, attr)
    return {"default": read, "value": read, "supply": PerService(), "when": _scaled}


class Service(Contract):
    """service, web-service and worker: per-service values are parameters, so alike services share one file."""

    StackName = Param("Stack whose exports (<StackName>-<Output>) fill the empty wiring parameters", rule=R.STACK_NAME.with_optional(),
                      default="", supply=RootName())
    Name = Param("Service name: ECS service, task family, container and DNS label", setting="name", supply=PerService())
    Image = Param("Container image without tag, e.g. nginx", setting="image", supply=PerService())
    Version = Param("Image tag", setting="version", supply=PerService())
    Port = Param("Port the container listens on", "Number", rule=R.PORT, setting="port", supply=PerService(), default=None, when=_balanced)
    HealthCheckPath = Param("HTTP health check path", setting="health_check_path", supply=PerService(), when=_http)
    DnsName = Param("Label under the domain; empty uses Name (<name>.stack.local)", setting="dns_name", supply=PerService(), when=_balanced)
    HostPort = Param("Static host port of the classic ELB; 0 uses Port", "Number", setting="host_port", supply=PerService(), when=_classic)
    # Not with auto scaling: CloudFormation would send it with every update of the service, resetting what scaling chose.
    DesiredCount = Param("Tasks to run", "Number", setting="desired_count", supply=PerService(),
                         default=lambda s: 1 if s.kind == "worker" else 2, value=lambda s: s.desired_tasks, when=lambda s: not _scaled(s))
    Cpu = Param("CPU units per task", "Number", setting="cpu", supply=PerService())
    Memory = Param("Memory (MiB) per task", "Number", setting="memory", supply=PerService())
    MinimumHealthyPercent = Param("Deployment minimum healthy percent", "Number", setting="deployment_minimum_healthy_percent", supply=PerService())
    MaximumPercent = Param("Deployment maximum percent", "Number", setting="deployment_maximum_percent", supply=PerService())
    CircuitBreaker = Param("Roll back deployments that do not become healthy", setting="circuit_breaker", supply=PerService(),
                           when=lambda s: not _shifting(s))  # rolling only (model/aws_facts.py, deployment strategies)
    DeploymentStrategy = Param("How ECS shifts production traffic to a new revision: BLUE_GREEN, CANARY or LINEAR",
                               rule=R.OneOf(tuple(DEPLOY.ecs_name(n) for n in DEPLOY.TRAFFIC_SHIFTING)),
                               **_deploy(lambda d: DEPLOY.ecs_name(d.strategy), "BLUE_GREEN"))  # type: ignore[arg-type]
    BakeMinutes = Param("Minutes the old revision keeps running after the full shift (instant rollback)", "Number", rule=DEPLOY.MINUTES,
                        **_deploy(lambda d: d.bake, DEPLOY.DEFAULT_BAKE_MINUTES))  # type: ignore[arg-type]
    CanaryPercent = Param("CANARY: percent of production traffic shifted first", "Number",
                          extra=(("MinValue", DEPLOY.F.CANARY_MIN_PERCENT), ("MaxValue", 100)),
                          **_deploy(lambda d: d.canary, DEPLOY.DEFAULT_CANARY_PERCENT))  # type: ignore[arg-type]
    LinearStepPercent = Param("LINEAR: percent of production traffic shifted per step", "Number",
                              extra=(("MinValue", DEPLOY.F.LINEAR_STEP_MIN_PERCENT), ("MaxValue", 100)),
                              **_deploy(lambda d: d.linear_step, DEPLOY.DEFAULT_LINEAR_STEP_PERCENT))  # type: ignore[arg-type]
    StepMinutes = Param("CANARY and LINEAR: minutes between traffic shifts", "Number", rule=DEPLOY.MINUTES,
                        **_deploy(lambda d: d.step, DEPLOY.DEFAULT_STEP_MINUTES))  # type: ignore[arg-type]
    LogRetentionDays = Param("Days to keep container logs", "Number", setting="log_retention_days", supply=PerService())
    TaskRoleArn = Param("An existing IAM role for the task's own AWS calls; empty: the service's own role (no permissions unless given)",
                        setting="task_role_arn", supply=PerService())
    DeletionProtection = Param("true: the load balancer cannot be deleted until this is set false", setting="deletion_protection",
                               supply=PerService(), when=_own_alb)
    Https = Param("true: a CertificateArn is required (HTTPS on 443, 80 redirects); false: plain HTTP, said explicitly",
                  supply=PerService(), default="true", value=lambda s: "false" if s.https is False else "true", rule=R.OneOf(("true", "false")),
                  when=lambda s: _public(s) and not _shared(s))
    CertificateArn = Param("ACM certificate for HTTPS on 443; empty serves HTTP only", setting="ssl_certificate_id", supply=PerService(),
                           when=lambda s: _public(s) and not _shared(s))
    ExternalZoneId = Param("Public hosted zone for an external record; empty for none", setting="external_zone_id", supply=PerService(), when=_public)
    ExternalDnsName = Param("Full external name, e.g. www.example.com (with ExternalZoneId)", setting="external_dns_name", supply=PerService(),
                            when=_public)
    MinCount = Param("Auto scaling minimum tasks", "Number", rule=R.TASK_COUNT, **_scaling("min_count"))  # type: ignore[arg-type]
    MaxCount = Param("Auto scaling maximum tasks", "Number", rule=R.MAX_TASK_COUNT, **_scaling("max_count"))  # type: ignore[arg-type]
    TargetCpu = Param("Target average CPU percent", "Number", rule=R.PERCENT, **_scaling("target_cpu"))  # type: ignore[arg-type]
    # Wiring: left empty, each is imported from <StackName>-<output>.
    Environment = Param("Environment name", supply=Wired(lambda s: Root.Environment), default="")
    Cluster = Param("ECS cluster", supply=Wired(lambda s: Cluster.Cluster), default="")
    CapacityProvider = Param("The cluster's capacity provider, the service's capacity provider strategy",
                             supply=Wired(lambda s: Cluster.CapacityProvider), default="")
    VpcId = Param("The stack's VPC", supply=Wired(lambda s: Network.VpcId), default="", when=lambda s: _balanced(s) and not _classic(s))
    Subnets = Param("Subnets of the load balancer", "CommaDelimitedList", default="", when=lambda s: _balanced(s) and not _shared(s),
                    supply=Wired(lambda s: Network.ExternalSubnets if _public(s) else Network.InternalSubnets))
    LoadBalancerSecurityGroup = Param("Security group of the load balancer", default="", when=lambda s: _balanced(s) and not _shared(s),
                                      supply=Wired(lambda s: Network.ExternalElb if _public(s) else Network.InternalElb))
    ZoneId = Param("Private hosted zone", supply=Wired(lambda s: Network.ZoneId), default="", when=_balanced)
    DomainName = Param("Private domain, e.g. stack.local", supply=Wired(lambda s: Network.DomainName_), default="", when=_balanced)
    LogBucket = Param("Bucket of load balancer access logs", supply=Wired(lambda s: Network.LogBucketId), default="",
                      when=lambda s: _balanced(s) and not _shared(s))
    Listeners = Param("Shared load balancers' listeners (one per balancer, comma separated)", "CommaDelimitedList", default="", when=_shared,
                      supply=Wired(_shared_listeners))
    BalancerDnsNames = Param("Shared load balancers' DNS names", "CommaDelimitedList", default="", when=_shared,
                             supply=Wired(lambda s: Ingress.PublicDnsNames if _public(s) else Ingress.InternalDnsNames))
    BalancerZoneIds = Param("Shared load balancers' canonical hosted zones", "CommaDelimitedList", default="", when=_shared,
                            supply=Wired(lambda s: Ingress.PublicZoneIds if _public(s) else Ingress.InternalZoneIds))
    BalancerIndex = Param("Which shared load balancer (from 0) holds this service's host rule", "Number", rule=R.Range(0, 999), default=0,
                          supply=Assigned(), when=_shared)
    AlarmTopic = Param("SNS topic the service's alarms notify", supply=Wired(lambda s: Network.AlarmTopic), default="", when=_alarmed)
    CpuHigh = Param("Alarm at this average CPU percent (10 minutes)", "Number", rule=R.PERCENT, **_threshold("cpu_high"))  # type: ignore[arg-type]
    MemoryHigh = Param("Alarm at this average memory percent (10 minutes)", "Number", rule=R.PERCENT, **_threshold("memory_high"))  # type: ignore[arg-type]
    TasksMissingMinutes = Param("Alarm when fewer tasks run than desired for this many minutes", "Number", rule=ALARM.MINUTES,
                                **_threshold("tasks_missing_minutes"))  # type: ignore[arg-type]
    Http5xx = Param("Alarm on this many target 5xx responses in 5 minutes", "Number", rule=ALARM.FIVE_XX,
                    **_threshold("http_5xx", _balanced))  # type: ignore[arg-type]
    UnhealthyTargets = Param("Alarm when this many targets stay unhealthy (10 minutes)", "Number", rule=ALARM.UNHEALTHY,
                             **_threshold("unhealthy_targets", _balanced))  # type: ignore[arg-type]
    BalancerFullNames = Param("Shared load balancers' full names (CloudWatch dimension)", "CommaDelimitedList", default="",
                              when=lambda s: _shared(s) and _alarmed(s),
                              supply=Wired(lambda s: Ingress.PublicFullNames if _public(s) else Ingress.InternalFullNames))
    RulePriority = Param("Priority of the service's host rule, unique on its load balancer", "Number", rule=R.Range(1, 50000), default=None,
                         supply=Assigned(), when=_shared)
    ShiftedRulePriority = Param("Traffic shifting on a shared ALB: the host rule's priority (RulePriority is the test rule's, evaluated first)",
                                "Number", rule=R.Range(1, 50000), default=None, supply=Assigned(), when=lambda s: _shared(s) and _shifting(s))
    ServiceRole = Param("ECS service role (classic ELB registration)", supply=Wired(lambda s: Cluster.IamRole), default="", when=_classic)

    @classmethod
    def declared(cls, shape: object) -> list[Param]:
        return [*super().declared(shape), *database_params(shape)]

    Name_ = Out("ECS service name", export=False)
    LogGroup = Out("CloudWatch Logs group of the containers", export=False)
    Dns = Out("Load balancer DNS name", export=False, when=lambda s: _balanced(s) and not _shared(s))
    Elb = Out("Load balancer (name of a classic ELB, ARN of an ALB)", export=False, when=lambda s: _balanced(s) and not _shared(s))
    ZoneId_ = Out("Load balancer's canonical hosted zone", export=False, when=lambda s: _balanced(s) and not _shared(s))
    Fqdn = Out("Name in the private zone, e.g. nginx.stack.local", export=False, when=_balanced)
    InternalFqdn = Out("Name in the private zone", export=False, when=_public)
    ExternalFqdn = Out("Public name (the load balancer's own without an external zone)", export=False, when=lambda s: _public(s) and not _shared(s))


class ServiceGroup(Contract):
    """services-<n>.json: a top-level stack of services past what one operation of the root may hold.

    Its services are nested like the root's, with the same logical ids, but
    leave their wiring empty: each imports `<RootStackName>-<Output>`, so the
    group needs the root deployed first and is deleted before it."""

    RootStackName = Param("The root stack whose exports the services import", rule=R.STACK_NAME,
                          default=lambda c: f"{c.name}-{c.environment}")


# ---------------------------------------------------------------- data modules


def _lit(read: object, **kw: object) -> dict[str, object]:
    """A database or user template's own value: the default, and what the root passes, both from the description."""
    return {"default": read, "value": read, "supply": PerService(), **kw}


def _cluster(s: object) -> bool:
    return getattr(getattr(s, "db", None), "is_cluster", False)


class DataLayer(Contract):
    """What database and user templates declare alike: their name and the stack they belong to."""

    StackName = Param("Stack whose exports (<StackName>-<Output>) fill the empty wiring parameters; also the export prefix",
                      rule=R.STACK_NAME.with_optional(), default="", supply=RootName())


class Database(DataLayer):
    """rds.json (an instance) and rds-cluster.json (Aurora): ManageMasterUserPassword, so no password anywhere."""

    Name = Param("Database name in the stack: resource names, tags, exports <StackName>-<Name>-<Output>", rule=R.DNS_LABEL,
                 **_lit(lambda s: s.db.name, required=True))
    EngineVersion = Param("Engine version (a major version RDS offers)", **_lit(lambda s: s.db.version))
    Port = Param("Port the database listens on", "Number", rule=R.PORT, **_lit(lambda s: s.db.engine_port))
    DatabaseName = Param("Database created in it", **_lit(lambda s: s.db.db_name))
    MasterUsername = Param("Master user; its password is made and kept by RDS in Secrets Manager", **_lit(lambda s: s.db.master_username))
    InstanceClass = Param("Instance class", **_lit(lambda s: s.db.instance_class, when=lambda s: not s.db.serverless))
    AllocatedStorage = Param("Storage GiB", "Number", **_lit(lambda s: s.db.storage_gib, when=lambda s: not _cluster(s)))
    StorageType = Param("Storage type", **_lit(lambda s: s.db.storage_type, when=lambda s: not _cluster(s)))
    MultiAz = Param("true: a standby in another AZ", rule=R.OneOf(("true", "false")),
                    **_lit(lambda s: "true" if s.db.multi_az else "false", when=lambda s: not _cluster(s)))
    BackupRetentionPeriod = Param("Days of automated backups", "Number", rule=R.Range(1, 35), **_lit(lambda s: s.db.backup_retention_period))
    PreferredBackupWindow = Param("Daily backup window (UTC)", **_lit(lambda s: s.db.backup_window))
    PreferredMaintenanceWindow = Param("Weekly maintenance window (UTC)", **_lit(lambda s: s.db.maintenance_window))
    MonitoringInterval = Param("Seconds between enhanced monitoring samples; 0 is off", "Number",
                               rule=R.OneOf((0, 1, 5, 10, 15, 30, 60)), **_lit(lambda s: s.db.monitoring_interval))
    AllowMajorVersionUpgrade = Param("true: allow major version upgrades", rule=R.OneOf(("true", "false")),
                                     **_lit(lambda s: "true" if s.db.allow_major_version_upgrade else "false", when=lambda s: not _cluster(s)))
    DeletionProtection = Param("true: the database cannot be deleted until this is set false", rule=R.OneOf(("true", "false")),
                               **_lit(lambda s: "true" if s.protected else "false"))
    KmsKeyArn = Param("KMS key for the storage; empty uses the RDS key", rule=R.KMS_KEY_ARN.with_optional(), **_lit(lambda s: s.db.kms_key_arn))
    IamAuthentication = Param("true: IAM database authentication", rule=R.OneOf(("true", "false")),
                              **_lit(lambda s: "true" if s.db.iam_authentication else "false"))
    DnsName = Param("Label under the stack's domain (a CNAME to the endpoint)", **_lit(lambda s: s.db.record_name))
    Environment = Param("Environment name", supply=Wired(lambda s: Root.Environment), default="")
    VpcId = Param("The stack's VPC", supply=Wired(lambda s: Network.VpcId), default="")
    Subnets = Param("Subnets of the DB subnet group", "CommaDelimitedList", supply=Wired(lambda s: Network.InternalSubnets), default="")
    ClusterSecurityGroup = Param("Security group of the container instances, admitted on the port",
                                 supply=Wired(lambda s: Cluster.EcsClusterSecurityGroupId), default="")
    ZoneId = Param("Private hosted zone", supply=Wired(lambda s: Network.ZoneId), default="")
    DomainName = Param("Private domain, e.g. stack.local", supply=Wired(lambda s: Network.DomainName_), default="")

    Endpoint = Out("Endpoint address (the cluster's writer endpoint)")
    ReaderEndpoint = Out("Aurora reader endpoint", when=_cluster)
    Port_ = Out("Port")
    DatabaseName_ = Out("Database created in it")
    Fqdn = Out("Name in the private zone, e.g. main.stack.local")
    SecretArn = Out("Secrets Manager secret RDS keeps the master user's credentials in (JSON keys username and password)")
    SecurityGroup = Out("Security group of the database")


class IamUser(DataLayer):
    """iam-user.json: a user, its policies, an access key whose secret goes into Secrets Manager (never an output)."""

    Name = Param("User name in the stack: exports <StackName>-<Name>-<Output>", **_lit(lambda s: s.name, required=True))
    UserName = Param("The IAM user's name (at most 64 characters; stack-cfn gives <name>-<environment>-<user>, shortened to fit)",
                     rule=IAM_USER_NAME, **_lit(lambda s: s.iam_name, required=True))

    UserArn = Out("The user's ARN")
    AccessKeyId = Out("The access key id (its secret is in SecretArn, never an output)")
    SecretArn = Out("Secrets Manager secret with AccessKeyId and SecretAccessKey")


DATABASE_OUTPUTS = (Database.Endpoint, Database.Port_, Database.DatabaseName_, Database.SecretArn)
DATABASE_LABELS = ("Host", "Port", "Name", "SecretArn")  # Database<i><label>, wired from the outputs above


def database_value_name(index: int, label: str) -> str:
    return f"Database{index + 1}{label}"


def database_param(index: int) -> Param:
    """A standalone service names the index-th database it uses (its exports are <StackName>-<database>-<Output>)."""
    return Param(f"Database {index + 1} this service uses, by its name in the stack (with StackName: imports its exports)", default="",
                 name=f"Database{index + 1}", owner=Service)


def database_params(svc: object) -> list[Param]:
    """Per database a service names: its name and, wired from its stack, Host, Port, Name and SecretArn."""
    out: list[Param] = []
    for i, _ in enumerate(getattr(svc, "databases", ())):  # noqa: B007
        out.append(dataclasses.replace(database_param(i), supply=PerService(), value=lambda svc, i=i: svc.databases[i]))
        for label, output in zip(DATABASE_LABELS, DATABASE_OUTPUTS, strict=True):
            out.append(Param(f"Database {i + 1}: {output.description}; empty imports it", default="", supply=FromDatabase(i, output),
                             name=database_value_name(i, label), owner=Service))
    return out
