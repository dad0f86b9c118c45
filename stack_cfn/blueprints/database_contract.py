"""The database's contract (rds.json, rds-cluster.json), beside its builder database.py: ManageMasterUserPassword, so no password anywhere."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from stack_cfn.blueprints.cluster_contract import Cluster
from stack_cfn.blueprints.contract import Contract, FromModule, Out, Param, PerService, Wired
from stack_cfn.blueprints.layer_contract import DataLayer, literal
from stack_cfn.blueprints.network_contract import Network
from stack_cfn.blueprints.root_contract import Root
from stack_cfn.model import rules as R
from stack_cfn.model.data import DatabaseShape


def _cluster(s: object) -> bool:
    return getattr(getattr(s, "db", None), "is_cluster", False)


class Database(DataLayer[DatabaseShape]):
    """rds.json (an instance) and rds-cluster.json (Aurora): ManageMasterUserPassword, so no password anywhere."""

    Name = Param("Database name in the stack: resource names, tags, exports <StackName>-<Name>-<Output>", rule=R.DNS_LABEL,
                 **literal(lambda s: s.db.name, required=True))
    EngineVersion = Param("Engine version (a major version RDS offers)", **literal(lambda s: s.db.version))
    Port = Param("Port the database listens on", "Number", rule=R.PORT, **literal(lambda s: s.db.engine_port))
    DatabaseName = Param("Database created in it", **literal(lambda s: s.db.db_name))
    MasterUsername = Param("Master user; its password is made and kept by RDS in Secrets Manager", **literal(lambda s: s.db.master_username))
    InstanceClass = Param("Instance class", **literal(lambda s: s.db.instance_class, when=lambda s: not s.db.serverless))
    AllocatedStorage = Param("Storage GiB", "Number", **literal(lambda s: s.db.storage_gib, when=lambda s: not _cluster(s)))
    StorageType = Param("Storage type", **literal(lambda s: s.db.storage_type, when=lambda s: not _cluster(s)))
    MultiAz = Param("true: a standby in another AZ", rule=R.OneOf(("true", "false")),
                    **literal(lambda s: "true" if s.db.multi_az else "false", when=lambda s: not _cluster(s)))
    BackupRetentionPeriod = Param("Days of automated backups", "Number", rule=R.Range(1, 35), **literal(lambda s: s.db.backup_retention_period))
    PreferredBackupWindow = Param("Daily backup window (UTC)", **literal(lambda s: s.db.backup_window))
    PreferredMaintenanceWindow = Param("Weekly maintenance window (UTC)", **literal(lambda s: s.db.maintenance_window))
    MonitoringInterval = Param("Seconds between enhanced monitoring samples; 0 is off", "Number",
                               rule=R.OneOf((0, 1, 5, 10, 15, 30, 60)), **literal(lambda s: s.db.monitoring_interval))
    AllowMajorVersionUpgrade = Param("true: allow major version upgrades", rule=R.OneOf(("true", "false")),
                                     **literal(lambda s: "true" if s.db.allow_major_version_upgrade else "false", when=lambda s: not _cluster(s)))
    DeletionProtection = Param("true: the database cannot be deleted until this is set false", rule=R.OneOf(("true", "false")),
                               **literal(lambda s: "true" if s.protected else "false"))
    KmsKeyArn = Param("KMS key for the storage; empty uses the RDS key", rule=R.KMS_KEY_ARN.with_optional(), **literal(lambda s: s.db.kms_key_arn))
    IamAuthentication = Param("true: IAM database authentication", rule=R.OneOf(("true", "false")),
                              **literal(lambda s: "true" if s.db.iam_authentication else "false"))
    DnsName = Param("Label under the stack's domain (a CNAME to the endpoint)", **literal(lambda s: s.db.record_name))
    Environment = Param("Environment name", supply=Wired(lambda s: Root.Outputs.Environment), default="")
    VpcId = Param("The stack's VPC", supply=Wired(lambda s: Network.Outputs.VpcId), default="")
    Subnets = Param("Subnets of the DB subnet group", "CommaDelimitedList", supply=Wired(lambda s: Network.Outputs.InternalSubnets), default="")
    ClusterSecurityGroup = Param("Security group of the container instances, admitted on the port",
                                 supply=Wired(lambda s: Cluster.Outputs.EcsClusterSecurityGroupId), default="")
    ZoneId = Param("Private hosted zone", supply=Wired(lambda s: Network.Outputs.ZoneId), default="")
    DomainName = Param("Private domain, e.g. stack.local", supply=Wired(lambda s: Network.Outputs.DomainName), default="")

    class Outputs:
        Endpoint = Out("Endpoint address (the cluster's writer endpoint)")
        ReaderEndpoint = Out("Aurora reader endpoint", when=_cluster)
        Port = Out("Port")
        DatabaseName = Out("Database created in it")
        Fqdn = Out("Name in the private zone, e.g. main.stack.local")
        SecretArn = Out("Secrets Manager secret RDS keeps the master user's credentials in (JSON keys username and password)")
        SecurityGroup = Out("Security group of the database")


class UsesDatabases(Protocol):
    """A shape that names databases of its stack (a service, a job)."""

    @property
    def databases(self) -> tuple[str, ...]: ...


DATABASE_OUTPUTS = (Database.Outputs.Endpoint, Database.Outputs.Port, Database.Outputs.DatabaseName, Database.Outputs.SecretArn)
DATABASE_LABELS = ("Host", "Port", "Name", "SecretArn")  # Database<i><label>, wired from the outputs above


def database_value_name(index: int, label: str) -> str:
    return f"Database{index + 1}{label}"


def database_param(index: int, consumer: type[Contract[Any]]) -> Param:
    """A standalone consumer (a service, a job) names the index-th database it uses (its exports are <StackName>-<database>-<Output>)."""
    return Param(f"Database {index + 1} this {consumer.__name__.lower()} uses, by its name in the stack (with StackName: imports its exports)",
                 default="", name=f"Database{index + 1}", owner=consumer)


def _nth_database(i: int) -> Callable[[UsesDatabases], str]:
    return lambda shape: shape.databases[i]


def database_params(shape: UsesDatabases, consumer: type[Contract[Any]]) -> list[Param]:
    """The rows a consumer of databases declares (in its contract's declared()), per database it names: its name and,
    each an output of that database's instance (FromModule), Host, Port, Name and SecretArn."""
    out: list[Param] = []
    for i in range(len(shape.databases)):
        out.append(dataclasses.replace(database_param(i, consumer), supply=PerService(), value=_nth_database(i)))
        for label, output in zip(DATABASE_LABELS, DATABASE_OUTPUTS, strict=True):
            out.append(Param(f"Database {i + 1}: {output.description}; empty imports it", default="",
                             supply=FromModule(output, _nth_database(i), database_param(i, consumer)), name=database_value_name(i, label),
                             owner=consumer))
    return out
