"""`up`: build, upload and deploy in one go; with --local, to a local AWS (moto) started in this process."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack_cfn import app
from stack_cfn.errors import DeployError
from stack_cfn.ship.report import Progress
from stack_cfn.usecases.deploy import DeployRequest, DeployResult, deploy

if TYPE_CHECKING:
    from stack_cfn.blueprints.compiler import Compiled
    from stack_cfn.model.config import StackConfig
    from stack_cfn.ship.aws import AwsTarget
    from stack_cfn.ship.local import LocalAws


@dataclass(frozen=True)
class UpRequest:
    deploy: DeployRequest
    local: bool = False
    keep: bool = False  # with local: keep the local AWS running until Ctrl-C
    port: int | None = None  # with local: its port (None: a free one)


@dataclass(frozen=True)
class UpResult:
    deployed: DeployResult
    summary: dict[str, object] | None = None  # with local: what the deploy created there, read back


Shown = Callable[[UpResult], None]  # renders the result while the local AWS still runs (before --keep waits)


def up(request: UpRequest, out: Progress, shown: Shown) -> UpResult:
    """Deploy, or start a local AWS and deploy there; `shown` gets the result as soon as it is known."""
    if not request.local:
        if request.port is not None or request.keep:
            raise DeployError(f"{'--port' if request.port is not None else '--keep'}: only goes with --local (the local AWS); add --local, or drop it")
        result = UpResult(deploy(request.deploy, out))
        shown(result)
        return result
    try:  # the local AWS is an extra: a plain `pip install stack-cfn` has no moto
        import moto.server  # noqa: F401
    except ModuleNotFoundError as exc:
        raise DeployError(f"--local needs the local AWS, which is not installed ({exc.name or 'moto'}); install it with: pip install 'stack-cfn[local]'") from None
    from stack_cfn.ship.local import LocalAws, check_port_free

    if request.port is not None:
        check_port_free(request.port)  # a busy port is the first and only line, before any progress
    # moto warns about every resource type it does not model; the summary says what was made.
    warnings.filterwarnings("ignore", module=r"moto\..*")
    logging.getLogger("moto").setLevel(logging.ERROR)
    source = request.deploy.source
    cfg = app.load(source, out)
    region = app.region_for(source, request.deploy.aws, cfg, "us-east-1")
    compiled = app.compile_and_lint(source, cfg, out)  # before the server starts: bad templates fail fast
    local = LocalAws(region=region, port=request.port)
    with out.step("running the local AWS", "the local AWS is stopped and what was deployed to it is gone"):
        with out.status("starting the local AWS (moto) on 127.0.0.1"):
            target = local.start()
        try:
            return _deploy_locally(request, out, cfg, compiled, local, target, shown)
        finally:
            local.stop()


def _deploy_locally(request: UpRequest, out: Progress, cfg: StackConfig, compiled: Compiled, local: LocalAws, target: AwsTarget,
                    shown: Shown) -> UpResult:
    out.info(f"local AWS at {local.endpoint_url} (region {target.region})")
    overrides = local.prepare_for(cfg, target)
    deployed = deploy(request.deploy, out, parameters=overrides, target=target, compiled=compiled)
    result = UpResult(deployed, local.summary(target, app.stack_name_for(request.deploy.source, request.deploy.aws, cfg)))
    shown(result)
    if request.keep:
        endpoint = local.endpoint_url
        local.wait(out.info, (
            f"the local AWS keeps running at {endpoint}; try:\n"
            f"  aws --endpoint-url {endpoint} --region {target.region} cloudformation describe-stacks\n"
            f"  stack-cfn outputs --endpoint-url {endpoint} --region {target.region}\n"
            "Ctrl-C stops it."
        ))
        out.info("stopping the local AWS")
    return result
