"""`stack-cfn plan` on the local AWS (issue 21, item 4): replacement decided from the resource schemas by comparing
the deployed templates with the new build, stateful replacement flagged loudly; drift detected on every stack
before the change sets, or, where the endpoint has no drift detection (moto), said in one line, never a crash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack_cfn.ship import deploy
from stack_cfn.ship.local import local_ubuntu_ami
from tests.conftest import local_cli, moto_gap, services_by_name

pytestmark = pytest.mark.e2e
STACK = "drift-test"


def write(path: Path, target, database: str = "main") -> Path:  # noqa: ANN001
    doc = {"name": "drift", "environment": "test", "region": "us-east-1", "cidr": "10.97.0.0/16", "bastion_ami": local_ubuntu_ami(target),
           "databases": [{"name": "main", "database": database}],
           "services": [{"name": "api", "image": "nginx", "port": 80, "log_retention_on_delete": False}]}
    path.write_text(yaml.safe_dump(doc))
    return path


def cli(local, *args: str):  # noqa: ANN001, ANN201
    return local_cli(local, *args, bucket="drift-templates")


@pytest.fixture(scope="module")
def deployed(local_aws, tmp_path_factory):  # noqa: ANN001, ANN201
    local, target = local_aws
    config = write(tmp_path_factory.mktemp("drift") / "stack.yaml", target)
    result = cli(local, "deploy", "-c", str(config), "--create-bucket")
    assert result.returncode == 0, result.stdout + result.stderr
    return local, target, config


def drift_out_of_band(target) -> None:  # noqa: ANN001
    """Someone scales the service by hand: its DesiredCount no longer matches the template."""
    ecs = target.client("ecs")
    service = services_by_name(ecs, STACK)["api"]
    ecs.update_service(cluster=STACK, service=service["serviceArn"], desiredCount=service["desiredCount"] + 3)


def test_plan_decides_a_database_replacement_from_the_schemas(deployed, tmp_path: Path) -> None:  # noqa: ANN001
    """AWS rule: DBName is in AWS::RDS::DBInstance's createOnlyProperties (the resource schema cfn-lint ships), so a new
    name replaces the instance; the local AWS's change set never says Replacement, the schemas do."""
    local, target, _ = deployed
    renamed = write(tmp_path / "stack.yaml", target, database="shop")
    result = cli(local, "plan", "-c", str(renamed))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("  REPLACE  DATA LOSS: the database's data (snapshot taken): Database (AWS::RDS::DBInstance) in stack.json > MainDatabase: "
                               'Properties.DBName "main" -> "shop" (create-only)') for line in lines), result.stdout
    assert any(line.startswith("!! DATA LOSS: the database's data") for line in lines), result.stdout
    assert deploy.stack_status(target.client("cloudformation"), STACK) in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), "plan changes nothing"


def test_plan_of_an_unchanged_stack_replaces_nothing(deployed) -> None:  # noqa: ANN001
    local, _, config = deployed
    result = cli(local, "plan", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  no resource is replaced" in result.stdout.splitlines() and "DATA LOSS" not in result.stdout


def test_plan_says_when_drift_detection_is_unavailable_and_goes_on(deployed) -> None:  # noqa: ANN001
    """moto 5.2.5 answers DetectStackDrift with HTTP 500 (not implemented): the plan says so in one line and still plans."""
    local, target, config = deployed
    drift_out_of_band(target)
    result = cli(local, "plan", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    said = [line for line in result.stdout.splitlines() if line.startswith("drift")]
    assert said and (said[0].startswith("drift detection unavailable: ") or said[0].startswith("drift (")), result.stdout


@moto_gap("DetectStackDrift is not implemented (the server answers HTTP 500), so no drift can be shown")
def test_plan_shows_a_resource_changed_out_of_band(deployed) -> None:  # noqa: ANN001
    """A service scaled by hand drifts (DesiredCount); plan names it before the change set, and whether the deploy sets it back."""
    local, target, config = deployed
    drift_out_of_band(target)
    result = cli(local, "plan", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "drift detection unavailable" not in result.stdout, result.stdout
    assert any(line.startswith("  ! ApiService/Service (AWS::ECS::Service) in drift-test MODIFIED: DesiredCount")
               for line in result.stdout.splitlines()), result.stdout
