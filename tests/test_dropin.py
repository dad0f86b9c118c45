"""`aws cloudformation package` against the local AWS: its path-style TemplateURLs on the local endpoint.

awscli writes each nested TemplateURL as `<S3 endpoint>/<bucket>/<key>` (S3Uploader.to_path_style_s3_url);
with AWS_ENDPOINT_URL=http://127.0.0.1:PORT that is a loopback URL, which CloudFormation on AWS never sees
and moto 5.2.5 reads as a bucket named "127". stack_cfn/ship/local.py reads it as path-style.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent('''
    import json, warnings
    warnings.simplefilter("ignore")
    import boto3
    from moto import mock_aws
    if PATCHED:
        from stack_cfn.ship.local import fill_moto_cloudformation_gaps
        fill_moto_cloudformation_gaps()
    child = {"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}}}}
    with mock_aws():
        kw = dict(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        s3, cfn = boto3.client("s3", **kw), boto3.client("cloudformation", **kw)
        s3.create_bucket(Bucket="probe")
        s3.put_object(Bucket="probe", Key="c.template", Body=json.dumps(child))
        root = {"Resources": {"C": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": URL}}}}
        try:
            cfn.create_stack(StackName="r", TemplateBody=json.dumps(root))
            status = cfn.describe_stacks(StackName="r")["Stacks"][0]["StackStatus"]
            print("WORKS" if status == "CREATE_COMPLETE" else "GAP " + status)
        except Exception as exc:
            print("GAP", type(exc).__name__)
''')
LOCAL_URL = "http://127.0.0.1:4566/probe/c.template"


def probe(url: str, patched: bool) -> str:
    result = subprocess.run([sys.executable, "-c", f"URL = {url!r}\nPATCHED = {patched}\n" + PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_moto_still_misreads_a_path_style_url_on_the_local_endpoint() -> None:
    assert probe(LOCAL_URL, patched=False).startswith("GAP"), "moto now reads loopback path-style URLs: remove _path_style_template_urls"


def test_the_local_aws_reads_it_as_path_style() -> None:
    assert probe(LOCAL_URL, patched=True) == "WORKS"


def test_aws_path_and_virtual_host_styles_still_work() -> None:
    """CloudFormation takes both S3 URL styles (AWS::CloudFormation::Stack, TemplateURL); the shim leaves them to moto."""
    for url in ("https://s3.amazonaws.com/probe/c.template", "https://probe.s3.us-east-1.amazonaws.com/c.template"):
        assert probe(url, patched=True) == "WORKS", url
