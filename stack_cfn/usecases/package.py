"""`package`: upload the nested templates and write the bundle a pipeline deploys without stack-cfn (ship/package.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stack_cfn import app
from stack_cfn.app import AwsOptions, BucketOptions, StackFile
from stack_cfn.errors import DeployError
from stack_cfn.ship.report import Progress


@dataclass(frozen=True)
class PackageRequest:
    source: StackFile
    aws: AwsOptions
    bucket: BucketOptions
    output: str = "dist"


@dataclass(frozen=True)
class PackageResult:
    output: Path
    stacks: int
    uploaded: int
    unchanged: int


def package(request: PackageRequest, out: Progress) -> PackageResult:
    from stack_cfn.blueprints.compiler import content_name
    from stack_cfn.ship import package as ship_package
    from stack_cfn.ship.deploy import nested_keys, s3_url
    from stack_cfn.ship.files import check_target, write_tree

    source = request.source
    cfg = app.load(source, out)
    compiled = app.compile_and_lint(source, cfg, out)
    output = Path(request.output)
    check_target(output, protect=[Path(source.path)])  # refused before anything is sent
    target = app.target_for(source, request.aws, cfg, out)
    stack = app.stack_name_for(source, request.aws, cfg)
    uploaded = app.upload(request.bucket, out, target, compiled)
    prefix = request.bucket.prefix
    bodies = ship_package.packaged(compiled, {name: s3_url(target, uploaded.bucket, key) for name, key in nested_keys(compiled, prefix).items()})
    for top, body in bodies.items():
        if not uploaded.urls[top].endswith("/" + content_name(Path(top).stem, body)):
            raise DeployError(f"{top}: the packaged template differs from the one uploaded; package again")
    where = {"region": target.region, "bucket": uploaded.bucket, "prefix": prefix}
    files = ship_package.bundle(compiled, bodies, uploaded.urls, stack, where)
    with out.step(f"writing {output}/", "the templates are uploaded; package again to write the bundle"):
        write_tree(output, files, protect=[Path(source.path)])
    app.record_placement(source, out, compiled)
    return PackageResult(output, len(compiled.stacks), len(uploaded.uploaded), len(uploaded.skipped))
