"""Databases: rds.json (one RDS instance, the seed's `rds`) and rds-cluster.json (Aurora, the seed's `rds-cluster`).

Both sit in the internal subnets behind a security group that admits the engine's port only from
the container instances and the groups and ranges the stack file lists; storage is encrypted; a
delete or replacement keeps a final snapshot (DeletionPolicy and UpdateReplacePolicy Snapshot);
the engine's logs go to CloudWatch. The master password is never chosen by us nor written
anywhere: ManageMasterUserPassword has RDS make it, keep it in Secrets Manager and rotate it. A
CNAME `<dns_name or name>.<domain>` points at the (writer) endpoint, as the seed's cluster had.
"""

from __future__ import annotations

from awacs.aws import Allow, Policy, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Partition, Ref, StackName, Template, ec2, iam, rds, route53

from stack_cfn.blueprints.common import emit, new_template, tags
from stack_cfn.blueprints.contract import Declared, declare
from stack_cfn.blueprints.database_contract import Database as D
from stack_cfn.blueprints.parts import wiring_values
from stack_cfn.blueprints.suppressions import DATABASE_OPTIONS, skipping
from stack_cfn.model.data import DatabaseShape

HAS_KMS_KEY = "HasKmsKey"
MONITORING = "MonitoringOn"
HAS_STACK_NAME = "HasStackName"


def build_database(shape: DatabaseShape) -> Template:
    db = shape.db
    t = new_template(f"stack-cfn {'rds-cluster' if db.is_cluster else 'rds'}: {db.engine}, password managed by RDS in Secrets Manager")
    p = declare(t, D, shape)
    w = wiring_values(t, shape, p, D)
    t.add_condition(HAS_KMS_KEY, Not(Equals(p[D.KmsKeyArn], "")))
    t.add_condition(MONITORING, Not(Equals(p[D.MonitoringInterval], 0)))
    t.add_condition(HAS_STACK_NAME, Not(Equals(p[D.StackName], "")))
    env_tags = tags(p[D.Name], w[D.Environment.name])
    subnets = t.add_resource(rds.DBSubnetGroup("DbSubnetGroup", DBSubnetGroupDescription=Join(" ", ["Internal subnets of", p[D.Name]]),
                                               SubnetIds=w[D.Subnets.name], Tags=env_tags))
    sg = _security_group(t, shape, p, w)
    role = _monitoring_role(t)
    parts = (t, shape, p, env_tags, Ref(sg), Ref(subnets), If(MONITORING, GetAtt(role, "Arn"), NoValue))
    main = _cluster(*parts) if db.is_cluster else _instance(*parts)
    record = t.add_resource(route53.RecordSetType(
        "DnsRecord", HostedZoneId=w[D.ZoneId.name], Name=Join(".", [p[D.DnsName], w[D.DomainName.name]]), Type="CNAME", TTL="300",
        ResourceRecords=[GetAtt(main, "Endpoint.Address")]))
    export = lambda out: Join("-", [If(HAS_STACK_NAME, p[D.StackName], StackName), p[D.Name], out.name])
    for out, value in ((D.Outputs.Endpoint, GetAtt(main, "Endpoint.Address")), (D.Outputs.Port, GetAtt(main, "Endpoint.Port")),
                       (D.Outputs.DatabaseName, p[D.DatabaseName]), (D.Outputs.Fqdn, Ref(record)),
                       (D.Outputs.SecretArn, GetAtt(main, "MasterUserSecret.SecretArn")), (D.Outputs.SecurityGroup, Ref(sg))):
        emit(t, out, value, export=export(out))
    if db.is_cluster:
        emit(t, D.Outputs.ReaderEndpoint, GetAtt(main, "ReadEndpoint.Address"), export=export(D.Outputs.ReaderEndpoint))
    return t


def _security_group(t: Template, shape: DatabaseShape, p: Declared, w: dict[str, object]) -> ec2.SecurityGroup:
    """The engine's port from the container instances, and from the groups and ranges the stack file lists; nothing else."""
    port = lambda **source: ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p[D.Port], ToPort=p[D.Port], **source)
    rules = [port(SourceSecurityGroupId=w[D.ClusterSecurityGroup.name], Description="The container instances")]
    rules += [port(SourceSecurityGroupId=g, Description=f"Listed group {i + 1}") for i, g in enumerate(shape.db.ingress_allow_security_groups)]
    rules += [port(CidrIp=c, Description=f"Listed range {i + 1}") for i, c in enumerate(shape.db.ingress_allow_cidr_blocks)]
    return t.add_resource(ec2.SecurityGroup(
        "DbSecurityGroup", GroupDescription=Join(" ", ["Database", p[D.Name], "- its port from the cluster and listed sources"]),
        VpcId=w[D.VpcId.name], SecurityGroupIngress=rules,
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="127.0.0.1/32", Description="No traffic out")],
        Tags=tags(Join("", ["RDS (", p[D.Name], ")"]), w[D.Environment.name])))


def _monitoring_role(t: Template) -> iam.Role:
    trust = Policy(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", ["monitoring.rds.amazonaws.com"]), Action=[AssumeRole])])
    return t.add_resource(iam.Role(
        "MonitoringRole", Condition=MONITORING, AssumeRolePolicyDocument=trust,
        ManagedPolicyArns=[Join("", ["arn:", Partition, ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"])]))


def flag(param: object) -> Ref:
    """A "true"/"false" parameter as a boolean property: CloudFormation takes the string. (A condition and
    Fn::If per flag made cfn-lint evaluate 2^n scenarios of the DB instance: 1.2 s of lint, now 0.3 s.)"""
    return Ref(param.name)  # type: ignore[attr-defined]


def _common(shape: DatabaseShape, p: Declared) -> dict[str, object]:
    """What an instance and a cluster take alike."""
    return {
        "Engine": shape.db.engine, "EngineVersion": p[D.EngineVersion], "Port": p[D.Port], "MasterUsername": p[D.MasterUsername],
        "ManageMasterUserPassword": True, "StorageEncrypted": True, "KmsKeyId": If(HAS_KMS_KEY, p[D.KmsKeyArn], NoValue),
        "BackupRetentionPeriod": p[D.BackupRetentionPeriod], "PreferredBackupWindow": p[D.PreferredBackupWindow],
        "PreferredMaintenanceWindow": p[D.PreferredMaintenanceWindow], "DeletionProtection": flag(D.DeletionProtection),
        "EnableCloudwatchLogsExports": list(shape.db.facts.log_exports), "EnableIAMDatabaseAuthentication": flag(D.IamAuthentication),
        "CopyTagsToSnapshot": True,
    }


def _instance(t: Template, shape: DatabaseShape, p: Declared, env_tags: object, sg: Ref, subnets: Ref, monitoring_role: If) -> rds.DBInstance:
    return t.add_resource(rds.DBInstance(
        "Database", DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot", **_common(shape, p),
        DBName=p[D.DatabaseName], DBInstanceClass=p[D.InstanceClass], AllocatedStorage=p[D.AllocatedStorage], StorageType=p[D.StorageType],
        MultiAZ=flag(D.MultiAz), AllowMajorVersionUpgrade=flag(D.AllowMajorVersionUpgrade), AutoMinorVersionUpgrade=True,
        DBSubnetGroupName=subnets, VPCSecurityGroups=[sg], PubliclyAccessible=False,
        MonitoringInterval=p[D.MonitoringInterval], MonitoringRoleArn=monitoring_role, Tags=env_tags, Metadata=skipping(*DATABASE_OPTIONS)))


class ServerlessV2Scaling(rds.ServerlessV2ScalingConfiguration):
    """AWS's Aurora Serverless v2 bounds, 0 to 256 ACUs (model/aws_facts.py, checked there): troposphere's
    validator stops at 0.5 to 128 and would crash the build."""

    props = {**rds.ServerlessV2ScalingConfiguration.props, "MinCapacity": (float, False), "MaxCapacity": (float, False)}


def _cluster(t: Template, shape: DatabaseShape, p: Declared, env_tags: object, sg: Ref, subnets: Ref, monitoring_role: If) -> rds.DBCluster:
    """An Aurora cluster of instance_count instances (db.serverless ones with serverless capacity)."""
    db = shape.db
    scaling = ServerlessV2Scaling(MinCapacity=float(db.serverless.min_acu), MaxCapacity=float(db.serverless.max_acu)) if db.serverless else NoValue
    cluster = t.add_resource(rds.DBCluster(
        "Database", DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot", **_common(shape, p),
        DatabaseName=p[D.DatabaseName], DBSubnetGroupName=subnets, VpcSecurityGroupIds=[sg],
        ServerlessV2ScalingConfiguration=scaling,
        Tags=env_tags, Metadata=skipping(*DATABASE_OPTIONS)))
    for i in range(db.instance_count):
        t.add_resource(rds.DBInstance(
            f"Instance{i + 1}", DBClusterIdentifier=Ref(cluster), Engine=db.engine, DBInstanceClass="db.serverless" if db.serverless else p[D.InstanceClass],
            DBSubnetGroupName=subnets, PubliclyAccessible=False, AutoMinorVersionUpgrade=True,
            MonitoringInterval=p[D.MonitoringInterval], MonitoringRoleArn=monitoring_role, Tags=env_tags, Metadata=skipping(*DATABASE_OPTIONS)))
    return cluster
