"""Container-instance user data: a MIME multipart document for cloud-init.

Part one is cloud-config that appends the ECS agent settings and the
SERVER_* variables once per instance (write_files is a per-instance module,
unlike the seed's bootcmd, which appended them again on every boot). Part two
is the user's own extra_cloud_config_type/content.

The document is a CloudFormation `Fn::Sub` string: the values are stack
parameters, resolved at deploy time. The ECS agent reads one setting per line,
so the auth data parameter admits no newlines; inside a YAML literal block the
JSON needs no escaping.
"""

from __future__ import annotations

from troposphere import If, Sub

BOUNDARY = "==STACKCFN-BOUNDARY=="
HAS_DOCKER_AUTH = "HasDockerAuth"
LOG_DRIVERS = '["awslogs","json-file"]'

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
      ${DockerAuthLines}
  - path: /etc/environment
    append: true
    content: |
      SERVER_ENVIRONMENT=${Environment}
      SERVER_GROUP=${Cluster}
      SERVER_REGION=${AWS::Region}
""".replace("=LOG_DRIVERS", "=" + LOG_DRIVERS)

AUTH_LINES = "ECS_ENGINE_AUTH_TYPE=${EcsDockerAuthType}\n      ECS_ENGINE_AUTH_DATA=${EcsDockerAuthData}"

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


def user_data() -> Sub:
    """The MIME document as Fn::Sub over the cluster template's parameters and its Cluster resource (its name)."""
    return Sub(MIME, DockerAuthLines=If(HAS_DOCKER_AUTH, Sub(AUTH_LINES), "# no private registry auth"))
