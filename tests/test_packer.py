"""packer/: the AMI template validates offline, its scripts are clean, and the stack can use the AMI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stack_cfn.blueprints.cluster import build_cluster
from stack_cfn.model.config import StackConfig
from tests.conftest import need

PACKER = Path(__file__).resolve().parent.parent / "packer"




def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_validate_amis_passes() -> None:
    need("packer")
    need("shellcheck")
    result = run(str(PACKER / "validate.sh"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_var_file_with_unknown_key_is_rejected(tmp_path: Path) -> None:
    need("packer")
    need("shellcheck")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"region": "eu-west-1", "instance_type": "t3.large"}))
    assert run(str(PACKER / "validate.sh"), str(good)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"region": "eu-west-1", "instnace_type": "t3.large"}))
    result = run(str(PACKER / "validate.sh"), str(bad))
    assert result.returncode != 0
    assert "unknown variable(s) instnace_type" in result.stderr


@pytest.mark.parametrize("env,message", [
    ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "no region"),
    ({"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
      "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"}, "no usable AWS credentials"),
])
def test_build_stops_before_packer_without_region_or_credentials(tmp_path: Path, env: dict[str, str], message: str) -> None:
    marker = tmp_path / "packer-ran"
    fake_packer = tmp_path / "packer"
    fake_packer.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake_packer.chmod(0o755)
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
    full_env = {**os.environ, **env, "PACKER": str(fake_packer), "AWS_CLI": aws}
    for key in [k for k, v in full_env.items() if v == ""]:
        del full_env[key]
    result = subprocess.run([str(PACKER / "build.sh")], capture_output=True, text=True, timeout=120, env=full_env)
    assert result.returncode != 0
    assert message in result.stderr
    assert not marker.exists(), "packer must not start"


def test_provisioning_carries_the_seed_host_tuning() -> None:
    sysctl = dict(
        (k.strip(), v.strip())
        for k, v in (line.split("=", 1) for line in (PACKER / "files/etc/sysctl.d/10-stack.conf").read_text().splitlines() if "=" in line and not line.startswith("#"))
    )
    assert sysctl["net.core.somaxconn"] == "5120"
    assert sysctl["net.ipv4.tcp_max_syn_backlog"] == "8096"
    assert sysctl["net.ipv4.ip_local_port_range"] == "10240 65535"
    assert sysctl["net.netfilter.nf_conntrack_max"] == "1000000"
    assert sysctl["fs.file-max"] == "10000000"
    assert sysctl["kernel.pid_max"] == "65536"
    ecs = (PACKER / "files/etc/ecs/ecs.config").read_text()
    for line in ("ECS_CHECKPOINT=true", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1h", "ECS_ENABLE_TASK_IAM_ROLE=true",
                 'ECS_AVAILABLE_LOGGING_DRIVERS=["awslogs","json-file"]'):
        assert line in ecs.splitlines()
    unit = (PACKER / "files/etc/systemd/system/stack-cfn-docker-volume.service").read_text()
    assert "Before=docker.service" in unit and "ConditionPathExists=/dev/xvdcz" in unit
    for script in (*PACKER.glob("*.sh"), *PACKER.glob("scripts/*.sh"), *PACKER.glob("files/usr/local/sbin/*")):
        assert "set -euo pipefail" in script.read_text(), script.name
    template = json.loads((PACKER / "ecs.json").read_text())
    builder = template["builders"][0]
    assert "source_ami_filter" in builder and "source_ami" not in builder, "no hard-coded AMI id"
    assert set(template["variables"]) >= {"region", "instance_type", "ami_name_prefix"}


def test_cluster_uses_the_packer_ami_when_given() -> None:
    cfg = StackConfig(name="my-app", environment="prod", key_name="k", ecs_ami="ami-0123456789abcdef0")
    t = json.loads(build_cluster(cfg).to_json())
    assert t["Parameters"]["EcsAmi"]["Default"] == "ami-0123456789abcdef0"
    image = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["ImageId"]
    assert image["Fn::If"][:2] == ["HasEcsAmi", {"Ref": "EcsAmi"}]
    devices = [d["DeviceName"] for d in t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]]
    assert "/dev/xvdcz" in devices, "the docker volume the AMI mounts"


def test_the_docker_volume_comes_only_with_the_image_that_mounts_it() -> None:
    """Issue 18, item 9. The stock ECS-optimized Amazon Linux 2023 image keeps docker's data on its root volume and
    never mounts a second volume (Amazon ECS developer guide, "Amazon ECS-optimized Linux AMIs": AL2023 has no
    separate docker volume, unlike the retired Amazon Linux 1 image), so a 25 GiB /dev/xvdcz there is paid for and
    unused. packer/'s image mounts /dev/xvdcz at /var/lib/docker: the volume comes with ecs_ami only."""
    unit = (PACKER / "files/etc/systemd/system/stack-cfn-docker-volume.service").read_text()
    script = (PACKER / "files/usr/local/sbin/stack-cfn-docker-volume").read_text()
    assert "ConditionPathExists=/dev/xvdcz" in unit and "device=/dev/xvdcz" in script and "target=/var/lib/docker" in script
    stock = json.loads(build_cluster(StackConfig(name="my-app", environment="prod")).to_json())
    data = stock["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert [d["DeviceName"] for d in data["BlockDeviceMappings"]] == ["/dev/xvda"]
    assert "EcsDockerVolumeSize" not in stock["Parameters"], "no parameter for a volume the template does not attach"
