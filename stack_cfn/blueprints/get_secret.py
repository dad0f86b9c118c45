#!/usr/bin/python3
"""Print a Secrets Manager secret's SecretString, read with the instance role (IMDSv2 credentials, SigV4 signature).

Written into the container instances' user data (userdata.py) as /usr/local/libexec/stack-cfn-get-secret: the
ECS-optimized Amazon Linux 2023 image is built from the minimal AL2023 image and ships python3 but no aws CLI
(aws/amazon-ecs-ami package lists), so this uses the standard library only and runs on python3.9.
Signature Version 4 as the IAM user guide ("Create a signed AWS API request") describes it; tests compare it
with botocore's signer and run it against the local AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import urllib.parse
import urllib.request

IMDS = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")


def call(url: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None) -> str:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (IMDS and the regional endpoint only)
        return response.read().decode()


def credentials() -> dict[str, str]:
    """The instance role's credentials from the instance metadata service, IMDSv2 (a session token first)."""
    token = call(IMDS + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    auth = {"X-aws-ec2-metadata-token": token}
    base = IMDS + "/latest/meta-data/iam/security-credentials/"
    role = call(base, headers=auth).splitlines()[0]
    return json.loads(call(base + role, headers=auth))


def sign(url: str, headers: dict[str, str], body: bytes, creds: dict[str, str], region: str, service: str,
         now: datetime.datetime) -> dict[str, str]:
    """The headers of a POST to `url`, with X-Amz-Date, the session token and the SigV4 Authorization header."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    parts = urllib.parse.urlsplit(url)
    signed = {**headers, "host": parts.netloc, "x-amz-date": stamp}
    if creds.get("Token"):
        signed["x-amz-security-token"] = creds["Token"]
    lower = {k.lower(): str(v).strip() for k, v in signed.items()}
    names = sorted(lower)
    canonical = "\n".join(["POST", parts.path or "/", "", "".join(f"{n}:{lower[n]}\n" for n in names), ";".join(names),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + creds["SecretAccessKey"]).encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return signed


def get_secret_string(arn: str) -> str:
    """GetSecretValue in the secret's own region (and partition's domain); STACK_CFN_SECRETS_ENDPOINT overrides the endpoint."""
    _, partition, _, region = arn.split(":")[:4]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    url = os.environ.get("STACK_CFN_SECRETS_ENDPOINT", f"https://secretsmanager.{region}.{domain}/")
    body = json.dumps({"SecretId": arn}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}
    signed = sign(url, headers, body, credentials(), region, "secretsmanager", datetime.datetime.now(datetime.timezone.utc))  # noqa: UP017 (python3.9: no datetime.UTC)
    return json.loads(call(url, "POST", signed, body))["SecretString"]


if __name__ == "__main__":
    sys.stdout.write(get_secret_string(sys.argv[1]))
