"""Container-instance user data: a MIME multipart document for cloud-init.

Part one is cloud-config, written once per instance (write_files and runcmd are
per-instance modules, unlike the seed's bootcmd, which appended on every boot):
- the ECS agent settings and the SERVER_* variables;
- a systemd unit that drops traffic from docker's interfaces to the instance
  metadata service (169.254.169.254), so containers never act as the
  instance. It is part of docker.service (started, and so re-applied, with
  every docker start and boot); `allow_container_imds: true` leaves it off;
- with a docker auth secret, a script that reads it through the instance role
  at boot and appends ECS_ENGINE_AUTH_* to ecs.config: the value is in no
  template, parameter or user data. The stock ECS-optimized AL2023 image has
  no aws CLI (it is built from the minimal AL2023 image), so the secret is
  read by get_secret.py (python3 and its standard library: IMDSv2 credentials,
  a SigV4-signed GetSecretValue), written beside the script.
Part two is the user's own extra_cloud_config_type/content.

The document is a CloudFormation `Fn::Sub` string over the cluster template's
parameters and its Cluster resource (the cluster's name).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from troposphere import If, Sub

BOUNDARY = "==STACKCFN-BOUNDARY=="
HAS_DOCKER_AUTH = "HasDockerAuth"
ALLOW_CONTAINER_IMDS = "AllowContainerImdsOn"
LOG_DRIVERS = '["awslogs","json-file"]'
IMDS_UNIT = "stack-cfn-block-imds.service"
AUTH_SCRIPT = "/usr/local/sbin/stack-cfn-docker-auth"
GET_SECRET = "/usr/local/libexec/stack-cfn-get-secret"
GET_SECRET_SOURCE = (Path(__file__).parent / "get_secret.py").read_text()

# The boot step, a POSIX sh script (shellcheck-clean; tests run it under a PATH without aws). The Fn::Sub variables
# are the cluster template's parameters; the secret's value never leaves the instance.
AUTH_SCRIPT_SOURCE = f"""#!/bin/sh
# Private registry auth for the ECS agent, read through the instance role: never in user data.
set -eu
data=$(python3 {GET_SECRET} '${{EcsDockerAuthSecretArn}}')
umask 077
printf 'ECS_ENGINE_AUTH_TYPE=%s\\nECS_ENGINE_AUTH_DATA=%s\\n' '${{EcsDockerAuthType}}' "$(printf %s "$data" | tr -d '\\n')" >> /etc/ecs/ecs.config
systemctl try-restart ecs || true
"""

CLOUD_CONFIG = """#cloud-config
write_files:
  - path: /etc/ecs/ecs.config
    owner: root:root
    permissions: "0600"
    append: true
    content: |
      ECS_CLUSTER=${Cluster}
      ECS_ENABLE_TASK_IAM_ROLE=true
      ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true
      ECS_AVAILABLE_LOGGING_DRIVERS=LOG_DRIVERS
  - path: /etc/environment
    append: true
    content: |
      SERVER_ENVIRONMENT=${Environment}
      SERVER_GROUP=${Cluster}
      SERVER_REGION=${AWS::Region}
  - path: /etc/systemd/system/IMDS_UNIT
    permissions: "0644"
    content: |
      [Unit]
      Description=Drop container traffic to the instance metadata service (stack-cfn)
      After=docker.service
      PartOf=docker.service
      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=/bin/sh -c 'iptables -C DOCKER-USER -i docker+ -d 169.254.169.254/32 -j DROP 2>/dev/null || iptables -I DOCKER-USER 1 -i docker+ -d 169.254.169.254/32 -j DROP'
      [Install]
      WantedBy=docker.service
  - path: GET_SECRET
    permissions: "0700"
    content: |
GET_SECRET_SOURCE
  - path: AUTH_SCRIPT
    permissions: "0700"
    content: |
AUTH_SCRIPT_SOURCE
runcmd:
  - ${ImdsCommand}
  - ${DockerAuthCommand}
""".replace("=LOG_DRIVERS", "=" + LOG_DRIVERS).replace("IMDS_UNIT", IMDS_UNIT).replace("path: AUTH_SCRIPT", f"path: {AUTH_SCRIPT}") \
    .replace("path: GET_SECRET", f"path: {GET_SECRET}") \
    .replace("GET_SECRET_SOURCE\n", textwrap.indent(GET_SECRET_SOURCE, " " * 6)) \
    .replace("AUTH_SCRIPT_SOURCE\n", textwrap.indent(AUTH_SCRIPT_SOURCE, " " * 6))

MIME = f"""Content-Type: multipart/mixed; boundary="{BOUNDARY}"
MIME-Version: 1.0

--{BOUNDARY}
Content-Type: text/cloud-config; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="ecs.cfg"

{CLOUD_CONFIG}
--{BOUNDARY}
Content-Type: ${{ExtraCloudConfigType}}; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="extra.cfg"

${{ExtraCloudConfigContent}}
--{BOUNDARY}--
"""


# Spot instances: the agent drains on EC2's two-minute interruption notice ("Spot Instance draining is turned off by
# default"; ECS developer guide, "Configuring Amazon ECS Linux container instances to receive Spot Instance notices").
# Capacity Rebalancing's own terminations send ECS no such notice: managed draining covers those (blueprints/cluster.py).
SPOT_DRAINING = "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"


def user_data(spot: bool = False) -> Sub:
    """The MIME document as Fn::Sub over the cluster template's parameters and its Cluster resource (its name);
    `spot`: a group with Spot instances (ecs_spot), whose agent drains on an interruption notice."""
    drivers = f"ECS_AVAILABLE_LOGGING_DRIVERS={LOG_DRIVERS}\n"
    return Sub(
        MIME.replace(drivers, f"{drivers}      {SPOT_DRAINING}\n") if spot else MIME,
        ImdsCommand=If(ALLOW_CONTAINER_IMDS, "echo containers may reach the instance metadata service (allow_container_imds)",
                       f"systemctl daemon-reload && systemctl enable --now {IMDS_UNIT}"),
        DockerAuthCommand=If(HAS_DOCKER_AUTH, AUTH_SCRIPT, "echo no private registry auth"),
    )
