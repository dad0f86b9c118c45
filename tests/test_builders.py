"""Unit tests per builder: resources, properties, and the logical IDs users depend on."""

from __future__ import annotations

import email
import json
import re

import pytest
import yaml

from stack_cfn.blueprints.bastion import build_bastion
from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.blueprints.compiler import compile_stack
from stack_cfn.blueprints.network import build_network
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.model.config import ServiceConfig, StackConfig

ROOT_OUTPUT_NAMES = [o.name for o in Root.outputs()]


def as_dict(t) -> dict:  # noqa: ANN001
    return json.loads(t.to_json())


# Logical IDs, parameter and output names are public API: renaming one replaces
# live resources or breaks importing stacks. Change these lists deliberately.
NETWORK_IDS_3AZ = {
    "Vpc", "InternetGateway", "VpcGatewayAttachment", "ExternalRouteTable", "ExternalDefaultRoute",
    *(f"{kind}{i}" for i in (1, 2, 3) for kind in (
        "ExternalSubnet", "InternalSubnet", "InternalRouteTable", "NatEip", "NatGateway", "NatInstance",
        "NatEipAssociation", "InternalDefaultRoute", "NatIngressFromInternalSubnet",
        "NatInstanceEip",  # issue 18, item 14: the instances' EIPs apart from the gateways' (NatEip)
    )),
    *(f"{kind}Subnet{i}RouteTableAssociation" for i in (1, 2, 3) for kind in ("External", "Internal")),
    "NatSecurityGroup", "DhcpOptions", "DhcpOptionsAssociation", "HostedZone",
    "InternalElbSecurityGroup", "ExternalElbSecurityGroup", "ExternalSshSecurityGroup", "InternalSshSecurityGroup",
    "ExternalSshIngress", "LogBucket", "LogBucketPolicy", "FlowLog", "NatRole", "NatInstanceProfile", "S3GatewayEndpoint",
}
NETWORK_OUTPUTS = {
    "VpcId", "Cidr", "InternalSubnets", "ExternalSubnets", "AvailabilityZones", "InternalRouteTables",
    "ExternalRouteTables", "ZoneId", "DomainName", "InternalElb", "ExternalElb", "ExternalSsh", "InternalSsh",
    "VpcSecurityGroup", "LogBucketId", "InternalNatIps",
}


def test_network_logical_ids_are_stable(cfg: StackConfig) -> None:
    t = as_dict(build_network(cfg))
    assert set(t["Resources"]) == NETWORK_IDS_3AZ
    assert set(t["Outputs"]) == NETWORK_OUTPUTS
    for name, out in t["Outputs"].items():
        assert out["Export"]["Name"]["Fn::Join"][1][1] == name


def test_network_parameters_default_to_the_description(cfg: StackConfig) -> None:
    params = as_dict(build_network(cfg.with_changes(cidr="10.50.0.0/16", az_count=2)))["Parameters"]
    assert params["Cidr"]["Default"] == "10.50.0.0/16"
    assert params["InternalSubnet2Cidr"]["Default"] == "10.50.64.0/19"
    assert params["ExternalSubnet1Cidr"]["Default"] == "10.50.32.0/20"
    assert "InternalSubnet3Cidr" not in params
    assert params["UseNatInstances"]["Default"] == "false"


def test_subnets_names_and_public_ips(cfg: StackConfig) -> None:
    res = as_dict(build_network(cfg))["Resources"]
    ext = res["ExternalSubnet2"]["Properties"]
    assert ext["MapPublicIpOnLaunch"] is True
    name = next(tag["Value"] for tag in ext["Tags"] if tag["Key"] == "Name")
    assert name == {"Fn::Sub": "${Name}-external-002"}
    assert "MapPublicIpOnLaunch" not in res["InternalSubnet2"]["Properties"]


def test_each_internal_route_goes_to_its_own_az(cfg: StackConfig) -> None:
    res = as_dict(build_network(cfg))["Resources"]
    for i in (1, 2, 3):
        route = res[f"InternalDefaultRoute{i}"]["Properties"]
        assert route["RouteTableId"] == {"Ref": f"InternalRouteTable{i}"}
        per_zone = route["NatGatewayId"]["Fn::If"][1]  # zones 2 and up: zone 1's gateway when nat_gateways: one
        assert per_zone == {"Ref": "NatGateway1"} if i == 1 else per_zone == {"Fn::If": ["OneNatGateway", {"Ref": "NatGateway1"}, {"Ref": f"NatGateway{i}"}]}
        assert route["InstanceId"]["Fn::If"][1] == {"Ref": f"NatInstance{i}"}
        assert res[f"NatGateway{i}"]["Properties"]["SubnetId"] == {"Ref": f"ExternalSubnet{i}"}


def test_security_groups_and_sane_egress(cfg: StackConfig) -> None:
    res = as_dict(build_network(cfg))["Resources"]
    ports = lambda sg: sorted(r["FromPort"] for r in res[sg]["Properties"]["SecurityGroupIngress"])  # noqa: E731
    assert ports("InternalElbSecurityGroup") == [80, 443]
    assert ports("ExternalElbSecurityGroup") == [80, 443]
    assert "SecurityGroupIngress" not in res["ExternalSshSecurityGroup"]["Properties"], "port 22 only through the conditional rule"
    ssh = res["ExternalSshIngress"]
    assert ssh["Condition"] == "HasSshCidr" and ssh["Properties"]["CidrIp"] == {"Ref": "SshCidr"} and ssh["Properties"]["FromPort"] == 22
    assert res["InternalSshSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["SourceSecurityGroupId"] == {"Ref": "ExternalSshSecurityGroup"}
    for sg in ("InternalElbSecurityGroup", "ExternalElbSecurityGroup", "ExternalSshSecurityGroup", "InternalSshSecurityGroup"):
        assert res[sg]["Properties"]["SecurityGroupEgress"] == [{"CidrIp": "0.0.0.0/0", "Description": "All traffic out", "IpProtocol": "-1"}]


def test_log_bucket_is_kept_private_and_retained(cfg: StackConfig) -> None:
    t = as_dict(build_network(cfg))
    bucket = t["Resources"]["LogBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["BucketName"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}, "CloudFormation picks a unique name by default"
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["Id"] == "logs-expiration" and rule["ExpirationInDays"] == {"Ref": "LogsExpirationDays"}
    statements = t["Resources"]["LogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    condition, legacy, principal = statements[0]["Fn::If"]  # only the ELB delivery statement differs by region
    assert condition == "ElbLogsFromAccount"
    assert legacy["Principal"]["AWS"][0]["Fn::Join"][1][3] == {"Fn::FindInMap": ["ElbLogDelivery", {"Ref": "AWS::Region"}, "Account"]}
    assert principal["Principal"] == {"Service": ["logdelivery.elasticloadbalancing.amazonaws.com"]}
    assert [s["Sid"] for s in statements[1:]] == ["FlowLogDelivery", "FlowLogAclCheck", "DenyInsecureTransport"]
    deny = statements[-1]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert t["Conditions"]["ElbLogsFromAccount"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws"]}]}
    assert set(t["Mappings"]["ElbLogDelivery"]) == {"us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"}


CLUSTER_IDS = {
    "Cluster", "ClusterSecurityGroup", "ClusterIngressFromInternalSsh", "ClusterIngressFromInternalElb",
    "ClusterIngressFromExternalElb", "InstanceRole", "DockerAuthSecretPolicy", "InstanceProfile", "LaunchTemplate", "AutoScalingGroup",
    "CapacityProvider", "ClusterCapacityProviders",  # managed instance draining, in both scaling modes
}
SIMPLE_SCALING_IDS = {"ScaleUpPolicy", "ScaleDownPolicy", "CpuReservationHighAlarm", "MemoryReservationHighAlarm", "CpuReservationLowAlarm", "MemoryReservationLowAlarm"}


def test_cluster_logical_ids(cfg: StackConfig) -> None:
    assert set(as_dict(build_cluster(cfg))["Resources"]) == CLUSTER_IDS | SIMPLE_SCALING_IDS
    managed = set(as_dict(build_cluster(cfg.with_changes(ecs_scaling="managed")))["Resources"])
    assert managed == CLUSTER_IDS


@pytest.mark.parametrize("mode", ["simple", "managed"])
def test_every_scaling_mode_drains_instances_before_terminating_them(cfg: StackConfig, mode: str) -> None:
    resources = as_dict(build_cluster(cfg.with_changes(ecs_scaling=mode)))["Resources"]
    provider = resources["CapacityProvider"]["Properties"]["AutoScalingGroupProvider"]
    assert provider["ManagedDraining"] == "ENABLED" and provider["AutoScalingGroupArn"] == {"Ref": "AutoScalingGroup"}
    assert provider["ManagedScaling"]["Status"] == ("ENABLED" if mode == "managed" else "DISABLED")
    assert provider["ManagedTerminationProtection"] == "DISABLED", "never: a deleted provider leaves instances protected (issue 18, item 10)"
    associations = resources["ClusterCapacityProviders"]["Properties"]
    assert associations["CapacityProviders"] == [{"Ref": "CapacityProvider"}]
    assert bool(associations["DefaultCapacityProviderStrategy"]) == (mode == "managed"), "services name the provider themselves (service.py)"
    rolling = resources["AutoScalingGroup"]["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling == {"MaxBatchSize": 1, "MinInstancesInService": {"Ref": "EcsMinSize"}, "PauseTime": "PT5M", "WaitOnResourceSignals": False}
    extra = set(as_dict(build_cluster(cfg.with_changes(ecs_security_groups=("sg-12345678", "sg-0123456789abcdef0"))))["Resources"])
    assert {"ClusterIngressFromExtraSecurityGroup1", "ClusterIngressFromExtraSecurityGroup2"} <= extra
    outputs = set(as_dict(build_cluster(cfg))["Outputs"])
    assert {"Cluster", "EcsClusterSecurityGroupId", "IamRoleDefaultEcsRoleId", "InstanceProfile", "AutoscalingGroup"} <= outputs
    assert "IamRole" not in outputs, "no ECS service role without a classic-ELB service"
    classic = cfg.with_changes(services=(ServiceConfig(name="c", image="nginx", port=80, load_balancer="classic"),))
    assert "EcsServiceRole" in as_dict(build_cluster(classic))["Resources"] and "IamRole" in as_dict(build_cluster(classic))["Outputs"]


def test_seed_scaling_alarms(cfg: StackConfig) -> None:
    res = as_dict(build_cluster(cfg))["Resources"]
    assert res["ScaleUpPolicy"]["Properties"]["ScalingAdjustment"] == 1
    assert res["ScaleDownPolicy"]["Properties"]["ScalingAdjustment"] == -1
    assert res["ScaleUpPolicy"]["Properties"]["Cooldown"] == "300"
    high = res["CpuReservationHighAlarm"]["Properties"]
    assert (high["Namespace"], high["MetricName"], high["Statistic"], high["Period"], high["EvaluationPeriods"], high["Threshold"]) == (
        "AWS/ECS", "CPUReservation", "Maximum", 300, 2, 90)
    assert high["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert high["Dimensions"] == [{"Name": "ClusterName", "Value": {"Ref": "Cluster"}}], "the cluster's own name, whichever way it was chosen"
    low = res["MemoryReservationLowAlarm"]["Properties"]
    assert (low["Threshold"], low["ComparisonOperator"], low["AlarmActions"]) == (10, "LessThanOrEqualToThreshold", [{"Ref": "ScaleDownPolicy"}])


def test_launch_template(cfg: StackConfig) -> None:
    res = as_dict(build_cluster(cfg.with_changes(ecs_ami="ami-0123456789abcdef0")))
    data = res["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"] == {"HttpEndpoint": "enabled", "HttpPutResponseHopLimit": {"Fn::If": ["AllowContainerImdsOn", 2, 1]},
                                       "HttpTokens": "required"}
    assert res["Parameters"]["AllowContainerImds"]["Default"] == "false", "hop limit 1 unless the stack file opts out"
    assert data["ImageId"] == {"Fn::If": ["HasEcsAmi", {"Ref": "EcsAmi"},
                                          {"Fn::If": ["HasEcsStockAmi", {"Ref": "EcsStockAmi"}, {"Ref": "EcsAmiSsmParameter"}]}]}
    assert res["Parameters"]["EcsAmi"]["Default"] == "ami-0123456789abcdef0"
    devices = {d["DeviceName"]: d["Ebs"] for d in data["BlockDeviceMappings"]}
    assert devices["/dev/xvda"]["Encrypted"] is True and devices["/dev/xvda"]["VolumeType"] == "gp3"
    assert devices["/dev/xvdcz"]["VolumeSize"] == {"Ref": "EcsDockerVolumeSize"}
    asg = res["Resources"]["AutoScalingGroup"]
    assert asg["Properties"]["TerminationPolicies"] == ["OldestLaunchTemplate", "Default"]
    assert asg["UpdatePolicy"]["AutoScalingRollingUpdate"]["MaxBatchSize"] == 1
    assert "AvailabilityZones" not in asg["Properties"], "VPCZoneIdentifier alone (seed PR #158)"


def test_instance_policy_is_least_privilege(cfg: StackConfig) -> None:
    role = as_dict(build_cluster(cfg))["Resources"]["InstanceRole"]["Properties"]
    text = json.dumps(role)
    assert "autoscaling:" not in text and '"*:*"' not in text
    assert "ManagedPolicyArns" not in role, "not AmazonSSMManagedInstanceCore (ssm:GetParameter* on *)"
    agent = role["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {a for s in agent for a in s["Action"]}
    assert {"ecs:RegisterContainerInstance", "ssm:UpdateInstanceInformation", "ssmmessages:OpenDataChannel"} <= actions
    assert not any(a.startswith(("ecr:", "ssm:GetParameter", "secretsmanager:", "logs:")) for a in actions), "pulls and logs use execution roles"
    assert not any(a.endswith(":*") for a in actions)
    auth = as_dict(build_cluster(cfg))["Resources"]["DockerAuthSecretPolicy"]
    assert auth["Condition"] == "HasDockerAuth" and auth["Properties"]["Roles"] == [{"Ref": "InstanceRole"}]
    assert auth["Properties"]["PolicyDocument"]["Statement"] == [{"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow",
                                                       "Resource": [{"Ref": "EcsDockerAuthSecretArn"},
                                                                    {"Fn::Join": ["", [{"Ref": "EcsDockerAuthSecretArn"}, "-??????"]]}],
                                                       "Sid": "DockerAuthSecret"}]


def resolve_user_data(template: dict, params: dict[str, str]) -> str:
    """Evaluate the launch template's Fn::Base64(Fn::Sub) the way CloudFormation does."""
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    body, variables = data
    values = {**params, "AWS::Region": "us-west-2", "Cluster": params["EcsClusterName"] or params["Name"]}
    for name in ("ImdsCommand", "DockerAuthCommand"):
        condition, yes, no = variables[name]["Fn::If"]
        on = params["EcsDockerAuthSecretArn"] if condition == "HasDockerAuth" else params["AllowContainerImds"] == "true"
        values[name] = yes if on else no
    for _ in range(2):
        body = re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: values[m.group(1)], body)
    return body


SECRET_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:docker-auth-AbCdEf"


def test_user_data_is_valid_mime_with_yaml_cloud_config(cfg: StackConfig) -> None:
    c = cfg.with_changes(ecs_docker_auth_type="dockercfg", ecs_docker_auth_secret_arn=SECRET_ARN,
                         extra_cloud_config_type="text/x-shellscript", extra_cloud_config_content="#!/bin/sh\necho hi")
    t = as_dict(build_cluster(c))
    params = {k: str(v.get("Default", "")) for k, v in t["Parameters"].items()}
    doc = resolve_user_data(t, params)
    message = email.message_from_string(doc)
    assert message.is_multipart()
    parts = message.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/cloud-config", "text/x-shellscript"]
    cloud = yaml.safe_load(parts[0].get_payload())
    ecs = next(f for f in cloud["write_files"] if f["path"] == "/etc/ecs/ecs.config")
    assert ecs["append"] is True, "written once per instance, not appended on every boot"
    lines = dict(line.split("=", 1) for line in ecs["content"].splitlines() if "=" in line)
    assert lines["ECS_CLUSTER"] == "my-app" and lines["ECS_ENABLE_TASK_IAM_ROLE"] == "true"
    assert "ECS_ENGINE_AUTH_DATA" not in lines, "the auth data is read at boot, never written into user data"
    assert json.loads(lines["ECS_AVAILABLE_LOGGING_DRIVERS"]) == ["awslogs", "json-file"]
    script = next(f for f in cloud["write_files"] if f["path"].endswith("stack-cfn-docker-auth"))
    assert f"stack-cfn-get-secret '{SECRET_ARN}'" in script["content"] and "ECS_ENGINE_AUTH_TYPE=%s" in script["content"]
    assert cloud["runcmd"] == ["systemctl daemon-reload && systemctl enable --now stack-cfn-block-imds.service", "/usr/local/sbin/stack-cfn-docker-auth"]
    env = next(f for f in cloud["write_files"] if f["path"] == "/etc/environment")
    assert "SERVER_ENVIRONMENT=prod" in env["content"] and "SERVER_REGION=us-west-2" in env["content"]
    assert parts[1].get_payload().strip() == "#!/bin/sh\necho hi"


def test_user_data_blocks_the_metadata_service_from_containers(cfg: StackConfig) -> None:
    t = as_dict(build_cluster(cfg))
    params = {k: str(v.get("Default", "")) for k, v in t["Parameters"].items()}
    cloud = yaml.safe_load(email.message_from_string(resolve_user_data(t, params)).get_payload()[0].get_payload())
    unit = next(f for f in cloud["write_files"] if f["path"] == "/etc/systemd/system/stack-cfn-block-imds.service")["content"]
    assert "iptables -I DOCKER-USER 1 -i docker+ -d 169.254.169.254/32 -j DROP" in unit
    assert "PartOf=docker.service" in unit and "WantedBy=docker.service" in unit, "re-applied on every docker start and boot"
    assert cloud["runcmd"][0].endswith("systemctl enable --now stack-cfn-block-imds.service")
    opened = resolve_user_data(t, {**params, "AllowContainerImds": "true"})
    assert "enable --now stack-cfn-block-imds" not in opened, "allow_container_imds: true leaves it off"


def test_user_data_without_auth_writes_no_auth_lines(cfg: StackConfig) -> None:
    t = as_dict(build_cluster(cfg))
    doc = resolve_user_data(t, {k: str(v.get("Default", "")) for k, v in t["Parameters"].items()})
    assert "ECS_ENGINE_AUTH" not in doc.split("stack-cfn-docker-auth")[0] and "echo no private registry auth" in doc
    assert doc.isascii(), "plain ASCII, as the 7bit parts promise"


def test_bastion(cfg: StackConfig) -> None:
    t = as_dict(build_bastion(cfg))
    inst = t["Resources"]["Bastion"]["Properties"]
    assert inst["Monitoring"] is True
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["SecurityGroupIds"] == [{"Ref": "ExternalSsh"}, {"Ref": "InternalSsh"}]
    assert inst["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert t["Parameters"]["BastionInstanceType"]["Default"] == "t3.micro"
    assert inst["KeyName"] == {"Fn::If": ["HasKeyName", {"Ref": "KeyName"}, {"Ref": "AWS::NoValue"}]}, "a key pair is optional"
    assert "ManagedPolicyArns" not in t["Resources"]["BastionRole"]["Properties"]
    assert "ubuntu" in t["Parameters"]["BastionAmiSsmParameter"]["Default"]
    assert t["Resources"]["BastionEip"]["Properties"]["InstanceId"] == {"Ref": "Bastion"}
    assert set(t["Outputs"]) == {"BastionIp", "BastionInstanceId"}


def test_root_nests_layers_and_returns_the_seed_outputs(cfg: StackConfig) -> None:
    root = json.loads(compile_stack(cfg).files["stack.json"])
    stacks = {k: v for k, v in root["Resources"].items() if v["Type"] == "AWS::CloudFormation::Stack"}
    assert {k: v["Properties"]["TemplateURL"] for k, v in stacks.items()} == {
        "NetworkStack": "network.json", "ClusterStack": "cluster.json", "BastionStack": "bastion.json"}
    assert set(root["Outputs"]) == set(ROOT_OUTPUT_NAMES) - {"IamRole"}, "no ECS service role (nor its output) without a classic ELB"
    with_classic = cfg.with_changes(services=(ServiceConfig(name="c", image="nginx", port=80, load_balancer="classic"),))
    assert len(json.loads(compile_stack(with_classic).files["stack.json"])["Outputs"]) == 19
    no_bastion = json.loads(compile_stack(cfg.with_changes(bastion=False)).files["stack.json"])
    assert "BastionStack" not in no_bastion["Resources"] and "BastionIp" not in no_bastion["Outputs"]
    cluster_params = stacks["ClusterStack"]["Properties"]["Parameters"]
    assert cluster_params["VpcId"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.VpcId"]}
    assert cluster_params["ExportPrefix"] == {"Ref": "AWS::StackName"}
    assert root["Parameters"]["EcsAmiSsmParameter"]["Type"] == "String", "the child resolves SSM parameters, not the root"
    assert root["Outputs"]["Region"]["Export"]["Name"] == {"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "Region"]]}


@pytest.mark.parametrize("azs", [2, 3, 4])
def test_outputs_follow_the_az_count(cfg: StackConfig, azs: int) -> None:
    t = as_dict(build_network(cfg.with_changes(az_count=azs)))
    assert len(t["Outputs"]["InternalSubnets"]["Value"]["Fn::Join"][1]) == azs
    assert sum(1 for k in t["Resources"] if k.startswith("NatGateway")) == azs
