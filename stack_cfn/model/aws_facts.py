"""AWS's deploy-time rules that the model checks, in one place, each fact with its source beside it.

What is here: names (lengths, characters, forbidden prefixes, reserved words), regions and
partitions, database facts (master usernames, windows), instance offerings (read from the data
cfn-lint ships, model/offerings.py) and size limits that are not account quotas. Count and size
quotas are in model/quotas.py, the shape of single values (patterns, ranges) in model/rules.py;
docs/aws-rules.md lists all three. A rule is written here once and checked at build time, before
anything is written or sent (`stack-cfn check` runs the same checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from stack_cfn.errors import ConfigError

# ---------------------------------------------------------------- names AWS gives a length, a shape or forbidden prefixes


@dataclass(frozen=True)
class NameRule:
    """What a name of one kind of AWS resource may be."""

    what: str  # "an IAM user name"
    max_length: int
    source: str
    regex: str = r".+"
    forbidden_prefixes: tuple[str, ...] = ()

    def problem(self, name: str) -> str | None:
        if len(name) > self.max_length:
            return f"{self.what} would be {name!r}, {len(name)} characters, over the {self.max_length} AWS allows ({self.source})"
        bad = next((p for p in self.forbidden_prefixes if name.lower().startswith(p)), None)
        if bad:
            return f"{self.what} would be {name!r}, which starts with {bad!r}, a prefix AWS reserves ({self.source})"
        if re.fullmatch(self.regex, name) is None:
            return f"{self.what} would be {name!r}, which is not allowed ({self.source})"
        return None


STACK_NAME = NameRule("the stack name", 128, "CloudFormation CreateStack API: StackName, 1-128 characters, a letter first",
                      r"[A-Za-z][A-Za-z0-9-]*")
EXPORT_NAME = NameRule("an export name", 255, "CloudFormation: 'The Name field of every Export member must not be longer than ...' (aws-cdk#9733)")
IAM_USER_NAME = NameRule("an IAM user name", 64, "IAM and AWS STS quotas, IAM name requirements; AWS::IAM::User UserName maxLength 64",
                         r"[\w+=,.@-]+")
IAM_ROLE_NAME = NameRule("an IAM role name", 64, "IAM and AWS STS quotas; AWS::IAM::Role RoleName maxLength 64", r"[\w+=,.@-]+")
TARGET_GROUP_NAME = NameRule("a target group name", 32, "ELB CreateTargetGroup API: Name, at most 32 alphanumerics or hyphens",
                             r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
LOAD_BALANCER_NAME = NameRule("a load balancer name", 32, "ELB CreateLoadBalancer API: Name, at most 32 alphanumerics or hyphens, not internal-",
                              r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", ("internal-",))
DB_IDENTIFIER = NameRule("a DB identifier", 63, "AWS::RDS::DBInstance DBInstanceIdentifier / DBCluster DBClusterIdentifier, 1-63, a letter first",
                         r"[a-zA-Z](?:-?[a-zA-Z0-9]){0,62}")
ECS_CLUSTER_NAME = NameRule("the ECS cluster name", 255, "ECS CreateCluster API: clusterName, up to 255 letters, digits, hyphens and underscores",
                            r"[A-Za-z0-9_-]+")
ECS_SERVICE_NAME = NameRule("an ECS service name", 255, "ECS CreateService API: serviceName, up to 255 letters, digits, hyphens and underscores",
                            r"[A-Za-z0-9_-]+")
LOG_GROUP_NAME = NameRule("a log group name", 512, "AWS::Logs::LogGroup LogGroupName, 1-512 of [.-_/#A-Za-z0-9]", r"[.\-_/#A-Za-z0-9]+")
ALARM_NAME = NameRule("an alarm name", 255, "AWS::CloudWatch::Alarm AlarmName maxLength 255")
# ECS: "The name can't be prefixed with "aws", "ecs", or "fargate"" (CreateCapacityProvider API; aws-cdk#29151).
CAPACITY_PROVIDER_NAME = NameRule("the capacity provider name", 255, "ECS CreateCapacityProvider API: up to 255, not prefixed aws, ecs or fargate",
                                  r"[A-Za-z0-9_.-]+", ("aws", "ecs", "fargate"))
CAPACITY_PROVIDER_PREFIX = "cp-"  # what stack-cfn names a provider whose generated name ECS would refuse

# ---------------------------------------------------------------- regions and partitions

# Partitions by region prefix: botocore data/endpoints.json, partitions[].regionRegex.
PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso"),
                      ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f"), ("eusc-", "aws-eusc"))


def partition_of(region: str) -> str:
    return next((p for prefix, p in PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def region_of_arn(arn: str) -> str:
    """The region field of an ARN (arn:partition:service:region:account:resource)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def partition_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 else ""


# Regional resources a stack may only use from its own region (a load balancer's certificate: ELB
# "SSL certificates", ACM certificates are regional; KMS keys are regional (a key ARN names its
# region, and a resource uses a key in its own region, KMS developer guide "Regions"); an SNS topic
# that CloudWatch alarms notify: "the topic must be in the same Region as the alarm",
# CloudWatch user guide "Using Amazon SNS notifications").
SAME_REGION_SERVICES = ("acm", "kms", "sns")

# ---------------------------------------------------------------- databases

# MasterUsername: a letter, then letters, digits and _ (RDS CreateDBInstance / CreateDBCluster API).
# Length by engine: RDS for PostgreSQL 63 and RDS for MySQL 32 (the engines' own limits, which RDS accepts: probed
# against a live account in floci-io/floci#3730); Aurora 16, as the CreateDBCluster API documents ("Must be 1 to 16
# letters or numbers"), with no live evidence of more.
MASTER_USERNAME_LENGTH = MappingProxyType({"postgres": 63, "mysql": 32, "aurora-postgresql": 16, "aurora-mysql": 16})
MASTER_USERNAME = r"[A-Za-z][A-Za-z0-9_]*"
# "Can't be a reserved word for the chosen database engine" (same API). rdsadmin on every engine (RDS's own
# user); admin on PostgreSQL ("MasterUsername admin cannot be used as it is a reserved word used by the engine",
# aws-cdk#10597, cfn-lint#4425 verified against CloudFormation). Beyond those: SQL key words the engine reserves
# (PostgreSQL documentation, Appendix C "SQL Key Words", the PostgreSQL "reserved" column; MySQL 8.0 reference
# "Keywords and Reserved Words", the (R) words that are common SQL: a subset of the MySQL list).
_POSTGRES_RESERVED = """all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create
current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end
except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not
null offset on only or order placing primary references returning select session_user some symmetric system_user table then to
trailing true union unique user using variadic when where window with"""
_MYSQL_RESERVED = """add all alter analyze and as asc between by case check column constraint create cross current_date current_time
current_timestamp current_user database databases default delete desc distinct drop else exists false for foreign from grant group
having if in index inner insert into is join key keys left like limit not null on or order outer primary references right select
set show table then to true union unique update usage use using when where with"""
SQL_RESERVED = MappingProxyType({
    "postgres": frozenset(_POSTGRES_RESERVED.split()), "aurora-postgresql": frozenset(_POSTGRES_RESERVED.split()),
    "mysql": frozenset(_MYSQL_RESERVED.split()), "aurora-mysql": frozenset(_MYSQL_RESERVED.split()),
})
RESERVED_USERNAMES = MappingProxyType({
    "postgres": frozenset({"rdsadmin", "admin", *SQL_RESERVED["postgres"]}),
    "aurora-postgresql": frozenset({"rdsadmin", "admin", *SQL_RESERVED["aurora-postgresql"]}),
    "mysql": frozenset({"rdsadmin", "rdsrepladmin", *SQL_RESERVED["mysql"]}),
    "aurora-mysql": frozenset({"rdsadmin", "rdsrepladmin", *SQL_RESERVED["aurora-mysql"]}),
})
# DBName / DatabaseName: "Can't be a word reserved by the database engine" (RDS CreateDBInstance API, DBName).

# Backup and maintenance windows: "Must be at least 30 minutes" and "Must not conflict with the preferred
# maintenance window" (RDS CreateDBInstance / CreateDBCluster API, PreferredBackupWindow, PreferredMaintenanceWindow).
MIN_WINDOW_MINUTES = 30

# Provisioned IOPS storage (io1, io2) needs Iops: "Required if StorageType is io1/io2" (AWS::RDS::DBInstance Iops;
# RDS user guide "Provisioned IOPS SSD storage"). stack-cfn does not set Iops, so it offers gp3 and gp2 only.
IOPS_STORAGE_TYPES = ("io1", "io2")

# Aurora Serverless v2: "The largest value that you can use is 256 for recent Aurora versions" and "the smallest
# value that you can use is 0" with auto-pause, in half steps (RDS API, ServerlessV2ScalingConfiguration).
SERVERLESS_MAX_ACU = 256.0
SERVERLESS_MIN_ACU = 0.0

# ---------------------------------------------------------------- load balancers and instances

# ALB host conditions: "The maximum length of each string is 128 characters ... You must include at least one '.'
# character. You can include only alphabetical characters after the final '.' character."
# (ELB API, HostHeaderConditionConfig; AWS::ElasticLoadBalancingV2::ListenerRule HostHeaderConfig).
HOST_CONDITION_LENGTH = 128
HOST_CONDITION = re.compile(r"[A-Za-z0-9.*?-]*\.[A-Za-z]+")

# "User data is limited to 16 KB, in raw form, before it is base64-encoded" (EC2 user guide, "Work with instance
# user data"); cfn-lint and the EC2 API check the encoded form: at most 21,847 characters (ceil(16384/3)*4 + 1).
USER_DATA_BYTES = 16 * 1024


# ---------------------------------------------------------------- Fargate and awsvpc

# Task-level CPU units -> the memory (MiB) Fargate accepts with it: "For task definitions that specify FARGATE for the
# requiresCompatibilities parameter (even if EC2 is also specified), you must use one of the values in the following
# table" (ECS developer guide, "Troubleshoot Amazon ECS task definition invalid CPU or memory errors",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html; the same table is under
# TaskDefinition memory in the ECS API reference). 8 and 16 vCPU "require Linux platform 1.4.0 or later".
# Windows on Fargate takes only 1024, 2048 and 4096 CPU (the table's operating system column): stack-cfn runs Linux
# containers only, so no Windows rule is encoded.
FARGATE_TASK_SIZES: MappingProxyType[int, tuple[int, ...]] = MappingProxyType({
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
})
FARGATE_SIZES_SOURCE = "ECS task definition CPU and memory table"  # how an error names the table above
# A task's CPU units off Fargate: "If you're using the EC2 launch type or the external launch type, this field is optional.
# Supported values are between 128 CPU units (0.125 vCPUs) and 196608 CPU units (192 vCPUs)" (ECS API reference,
# RegisterTaskDefinition cpu, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html;
# the ECS developer guide's "Task size" says the same: "0.25 vCPU to 192 vCPU"; older guides said 10240, 10 vCPU).
# A service's or job's `cpu` is its one container's reservation (ContainerDefinition Cpu, which has no bound of its own
# but the Linux CPU shares 2-262144) and, on Fargate, the task's: it stays within the task's range, and Fargate's sizes
# (above, up to 16384) bound it further.
TASK_CPU_UNITS = (128, 196608)
FARGATE_PV14_CPU = (8192, 16384)  # "This option requires Linux platform 1.4.0 or later"

# Fargate Linux platform versions a service may pin; LATEST is the current one (1.4.0). 1.3.0 lacks ephemeral storage
# settings, ARM64 and 8/16 vCPU ("AWS Fargate Linux platform versions", ECS developer guide; EphemeralStorage: "Linux
# platform version 1.4.0 or later", ECS API reference).
FARGATE_PLATFORM_VERSIONS = ("LATEST", "1.4.0", "1.3.0")
FARGATE_PV14_ONLY = "1.3.0"

# EphemeralStorage sizeInGiB: "The minimum supported value is 21 GiB and the maximum supported value is 200 GiB"
# (ECS API reference, EphemeralStorage); without it a Fargate task gets 20 GiB ("Fargate task ephemeral storage").
EPHEMERAL_STORAGE_GIB = (21, 200)

# RuntimePlatform CpuArchitecture X86_64 | ARM64: "available for tasks that run on Linux Amazon EC2 instance or Linux
# containers on Fargate" (AWS::ECS::TaskDefinition RuntimePlatform). Fargate Spot: "not supported on Windows-based
# containers" (the current Batch RuntimePlatform reference; ARM64 was dropped from that exclusion when Fargate Spot
# gained Graviton in 2024), so arm64 services may use FARGATE_SPOT.
CPU_ARCHITECTURES = MappingProxyType({"x86_64": "X86_64", "arm64": "ARM64"})

# Capacity provider strategies (ECS API reference, CapacityProviderStrategyItem; CreateService capacityProviderStrategy):
# - "To use a Fargate capacity provider, specify either the FARGATE or FARGATE_SPOT capacity providers ... [they] only
#   need to be associated with a cluster to be used" (the cluster layer associates both when a service runs on Fargate);
# - "Only one capacity provider in a capacity provider strategy can have a base defined", base 0 to 100000;
# - weight 0 to 1000, and a strategy whose providers all weigh 0 places nothing;
# - "If a capacityProviderStrategy is specified, the launchType parameter must be omitted" (so services give no LaunchType);
# - "A capacity provider strategy can only contain Auto Scaling group capacity providers or Fargate capacity providers"
#   (ECS developer guide, "Amazon ECS capacity providers"): a Fargate service's strategy names FARGATE providers only.
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
STRATEGY_BASE_MAX = 100000
STRATEGY_WEIGHT_MAX = 1000

# What Fargate tasks cannot use (ECS developer guide, "Amazon ECS task definition differences for Fargate"): network
# modes other than awsvpc, host ports other than the container port, placement strategies and constraints,
# dockerVolumeConfiguration, host.sourcePath volumes, privileged, links, devices. stack-cfn's model offers only
# host_path volumes of these (refused by model/fargate.py); blueprints/fargate.py refuses to build a Fargate service
# whose task definition or service holds any of these keys.
FARGATE_UNSUPPORTED_KEYS = ("PlacementStrategies", "PlacementConstraints", "DockerVolumeConfiguration", "Privileged", "Links", "Devices")

# awsvpc: "the service must specify NetworkConfiguration" and load balancing needs "target type ip, not instance"
# (AWS::ECS::Service NetworkConfiguration: "required for task definitions that use the awsvpc network mode";
# ECS developer guide, "Use an Application Load Balancer for Amazon ECS": "you must choose ip as the target type ...
# awsvpc"); a classic load balancer cannot register tasks by IP ("Classic Load Balancers ... not supported for tasks
# that use the awsvpc network mode", ECS developer guide, "Use load balancing to distribute Amazon ECS service traffic").
AWSVPC_TARGET_TYPE = "ip"


def check_name(rule: NameRule, name: str, setting: str, fix: str) -> None:
    """Refuse a name the stack would derive from `setting` when AWS would refuse it."""
    problem = rule.problem(name)
    if problem:
        raise ConfigError(setting, problem, fix)

# ---------------------------------------------------------------- mixed instances and Spot (model/capacity.py)

# "The maximum number of instance types that can be associated with an Auto Scaling group is 40" (Amazon EC2 Auto
# Scaling user guide, "Auto Scaling groups with multiple instance types and purchase options"; the CDK's
# MixedInstancesPolicy.launchTemplateOverrides quotes it).
MAX_INSTANCE_TYPES = 40
# A group names either a launch template (or configuration) or a mixed-instances policy, "but not both at the same
# time" (Auto Scaling API, MixedInstancesPolicy / CreateAutoScalingGroup); the policy's LaunchTemplate is required,
# and an override's InstanceType replaces the launch template's (API, LaunchTemplateOverrides). So a mixed group
# moves its launch template into MixedInstancesPolicy.LaunchTemplate (blueprints/cluster.py).
# OnDemandPercentageAboveBaseCapacity: "Expressed as a number (for example, 20 specifies 20% On-Demand Instances,
# 80% Spot Instances). If set to 100, only On-Demand Instances are used. Default: 100" (API, InstancesDistribution).
# An integer percent, 0 to 100; stack-cfn's ecs_spot refuses 100 besides (no Spot at all: model/capacity.py).
ON_DEMAND_PERCENT_MIN = 0
ON_DEMAND_PERCENT_MAX = 100
# SpotAllocationStrategy values: lowest-price, capacity-optimized, capacity-optimized-prioritized and
# price-capacity-optimized, which AWS recommends ("the lowest priced of the pools with the most available capacity":
# user guide, "Allocation strategies for multiple instance types"). OnDemandAllocationStrategy "prioritized": the
# overrides' order, first to last (the default for groups without InstanceRequirements).
SPOT_ALLOCATION_STRATEGY = "price-capacity-optimized"
ON_DEMAND_ALLOCATION_STRATEGY = "prioritized"
# Capacity Rebalancing "attempts to proactively replace the Spot Instances in your group that have received an EC2
# instance rebalance recommendation" (user guide, "Capacity Rebalancing in Auto Scaling to replace at-risk Spot
# Instances"): it only acts on Spot Instances, so stack-cfn turns it on with ecs_spot only. The replaced instance
# is terminated by the group, which ECS managed draining covers (ECS developer guide, "Safely stop Amazon ECS
# workloads running on EC2 instances": group scale-in and instance replacements), so its tasks start elsewhere first.
# ECS managed termination protection (off in stack-cfn, blueprints/cluster.py) protects from scale-in only: "When
# managed termination protection is on, Amazon ECS prevents the Amazon EC2 instances ... from being terminated
# during a scale-in action" (ECS API, AutoScalingGroupProvider); it cannot hold back a Spot interruption.

# ---------------------------------------------------------------- deployment strategies (model/deployment.py, blueprints/deployment.py)

# AWS::ECS::Service DeploymentConfiguration (the schema cfn-lint ships; ECS API DeploymentConfiguration): BakeTimeInMinutes,
# CanaryBakeTimeInMinutes and StepBakeTimeInMinutes are 0-1440; "For blue/green, linear, and canary deployments, the value is
# set to 15 minutes" when not given, and "You must provide this parameter when you use the BLUE_GREEN deployment strategy".
DEPLOYMENT_MAX_MINUTES = 1440
DEFAULT_BAKE_MINUTES = 15
# CanaryConfiguration.CanaryPercent 0.1-100, LinearConfiguration.StepPercent 3-100, both "multipleOf": 0.1 (same schema).
CANARY_MIN_PERCENT = 0.1
LINEAR_STEP_MIN_PERCENT = 3.0
TRAFFIC_PERCENT_SOURCE = "AWS::ECS::Service CanaryConfiguration.CanaryPercent / LinearConfiguration.StepPercent"
# "CFN rejects deployments when the calculated deployment time exceeds 33 hours based on your template configuration:
# BakeTimeInMinutes + CanaryBakeTimeInMinutes" (canary) and "BakeTimeInMinutes + (StepBakeTimeInMinutes x Number of deployment
# steps)" (linear), the steps being 100/StepPercent - 1 when it divides 100, else floor(100/StepPercent)
# (AWS::ECS::Service CanaryConfiguration / LinearConfiguration).
CFN_DEPLOYMENT_LIMIT_MINUTES = 33 * 60
CFN_DEPLOYMENT_LIMIT_SOURCE = "AWS::ECS::Service CanaryConfiguration / LinearConfiguration: CloudFormation rejects more than 33 hours"


def linear_steps(step_percent: float) -> int:
    """Linear deployment steps as CloudFormation counts them (the bake after the last shift to 100% is not counted)."""
    tenths = round(step_percent * 10)
    return 1000 // tenths - 1 if 1000 % tenths == 0 else 1000 // tenths


def planned_deployment_minutes(strategy: str, bake: int, step_minutes: int, step_percent: float) -> int:
    if strategy == "canary":
        return bake + step_minutes
    if strategy == "linear":
        return bake + step_minutes * linear_steps(step_percent)
    return bake


# Managed traffic shifting needs an Application or Network Load Balancer (or Service Connect): "To use a blue/green deployment
# with managed traffic shifting, your service must use ... Elastic Load Balancing [ALB or NLB] ... Service Connect" (ECS developer
# guide, "Required resources for Amazon ECS blue/green deployments"); a classic ELB has no listener rules to weight.
TRAFFIC_SHIFTING_SOURCE = "ECS developer guide, Required resources for Amazon ECS blue/green deployments"
# ECS shifts traffic by weighting a listener rule that forwards to both target groups, "pre-configured with both target groups
# weighted 1 and 0"; otherwise the deployment rolls back with "Both targetGroup and alternateTargetGroup must be associated with
# the productionListenerRule or testListenerRule" (ECS developer guide, "Application Load Balancer resources for blue/green,
# linear, and canary deployments"). Listener rules mixing forward with redirect/fixed-response actions are not supported (same page).
PRODUCTION_WEIGHT, ALTERNATE_WEIGHT = 1, 0
# The role ECS assumes to reweight the rules: trusted by ecs.amazonaws.com, with the AWS managed policy
# AmazonECSInfrastructureRolePolicyForLoadBalancers (ECS developer guide, "Amazon ECS infrastructure IAM role for load balancers").
ECS_INFRASTRUCTURE_PRINCIPAL = "ecs.amazonaws.com"
ECS_LOAD_BALANCER_POLICY = "AmazonECSInfrastructureRolePolicyForLoadBalancers"
# "The deployment circuit breaker can only be used for services using the rolling update" (ECS API DeploymentConfiguration,
# deploymentCircuitBreaker): blue/green, canary and linear fail on their alarms and lifecycle hooks instead.
# The deployment alarms "Rollback" rolls back to the last completed deployment (ECS API DeploymentAlarms).
# StopServiceDeployment with stopType ROLLBACK "rolls back the service deployment to the previous service revision ... even if
# you didn't configure the service deployment for the rollback option", from PENDING or IN_PROGRESS (ECS API reference;
# developer guide "Stopping Amazon ECS service deployments").
STOP_DEPLOYMENT_TYPE = "ROLLBACK"
STOPPABLE_DEPLOYMENT_STATES = ("PENDING", "IN_PROGRESS")
# Lifecycle hooks (AWS::ECS::Service DeploymentLifecycleHook; ECS developer guide "Lifecycle hooks for Amazon ECS service
# deployments"): the stages below; TargetType AWS_LAMBDA or PAUSE, and "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
# PRODUCTION_TRAFFIC_SHIFT stages"; at most 10 Lambda and 10 pause hooks per service. A Lambda hook names a role ECS assumes
# (trusted by ecs.amazonaws.com) with lambda:InvokeFunction ("Permissions required for Lambda functions in Amazon ECS blue/green
# deployments"); stack-cfn scopes it to the hooks' functions instead of the guide's arn:aws:lambda:*:*:function:*.
HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
               "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT")
LAMBDA_ONLY_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
MAX_HOOKS_PER_KIND = 10
HOOKS_SOURCE = "ECS developer guide, Lifecycle hooks for Amazon ECS service deployments"
