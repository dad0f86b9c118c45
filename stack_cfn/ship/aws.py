"""Where stack-cfn talks to AWS: real AWS through the standard credential chain, or any endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers

from stack_cfn.errors import DeployError

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Patience:
    """How long stack-cfn waits on AWS, in one place. A silent endpoint (one that takes the connection and never
    answers) fails the first call (sts, the reachability check) within probe_attempts x (connect or read) seconds
    plus backoff: under 30 s. CloudFormation's own calls get more attempts, in adaptive mode (client-side rate
    limiting): real accounts throttle Describe* calls hard while a stack is followed. Other services get
    botocore's standard mode with a few more attempts than its default 3."""

    connect: int = 5
    read: int = 12
    local_read: int = 120  # moto does a whole stack operation inside ExecuteChangeSet's request
    probe_attempts: int = 2
    attempts: int = 6
    cloudformation_attempts: int = 10


PATIENCE = Patience()


def client_config(service: str, local: bool = False) -> botocore.config.Config:
    """Retries and timeouts for a client of `service`; AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, when set, win
    (botocore reads them only when the client is given no retry configuration)."""
    attempts = {"sts": PATIENCE.probe_attempts, "cloudformation": PATIENCE.cloudformation_attempts}.get(service, PATIENCE.attempts)
    mode = "adaptive" if service == "cloudformation" else "standard"
    env_attempts, env_mode = os.environ.get("AWS_MAX_ATTEMPTS", "").strip(), os.environ.get("AWS_RETRY_MODE", "").strip()
    if env_attempts.isdigit() and int(env_attempts) > 0:
        attempts = int(env_attempts)
    if env_mode in ("legacy", "standard", "adaptive"):
        mode = env_mode
    return botocore.config.Config(retries={"max_attempts": attempts, "mode": mode}, connect_timeout=PATIENCE.connect,
                                  read_timeout=PATIENCE.local_read if local and service != "sts" else PATIENCE.read)


def check_endpoint(url: str, source: str) -> None:
    """An endpoint is an http(s) URL with a host: anything else is refused before a client is made."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or any(c.isspace() for c in url):
        raise DeployError(f"{source}: {url[:80]!r} is not an http(s) URL; write it like http://127.0.0.1:5000")


@dataclass(frozen=True)
class AwsTarget:
    """A region, and optionally an endpoint (moto, LocalStack) and a profile."""

    region: str
    endpoint_url: str | None = None
    profile: str | None = None

    @classmethod
    def from_env(cls, region: str | None, endpoint_url: str | None, profile: str | None, default_region: str) -> AwsTarget:
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint:
            check_endpoint(endpoint, "--endpoint-url" if endpoint_url else "AWS_ENDPOINT_URL")
        return cls(
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or default_region,
            endpoint_url=endpoint,
            profile=profile,
        )

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS {self.region}"

    def session(self) -> boto3.session.Session:
        try:
            s = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        except botocore.exceptions.ProfileNotFound:
            name = self.profile or os.environ.get("AWS_PROFILE", "")
            raise DeployError(f"--profile/AWS_PROFILE: profile {name!r} is not configured; run aws configure --profile {name} or unset it") from None
        if s.get_credentials() is None:
            if self.endpoint_url:
                # A local endpoint (moto) accepts any credentials; sign with dummies.
                return boto3.session.Session(region_name=self.region, **LOCAL_CREDENTIALS)
            raise DeployError(
                "no AWS credentials found: configure a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "or run against the local AWS with --local (or --endpoint-url)"
            )
        return s

    def client(self, service: str, region: str | None = None) -> Any:
        """A client with stack-cfn's retries and timeouts (see client_config)."""
        return self.session().client(service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=client_config(service, bool(self.endpoint_url)))

    def check_reachable(self) -> None:
        """Fail early, in one line, when the endpoint does not answer or the region is unknown."""
        known = boto3.session.Session().get_available_regions("cloudformation") + ["us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"]
        if self.region not in known:
            raise DeployError(f"--region: {self.region!r} is not an AWS region; use one such as us-east-1")
        try:
            self.client("sts").get_caller_identity()
        except botocore.exceptions.EndpointConnectionError:
            raise DeployError(f"--endpoint-url: nothing answers at {self.endpoint_url}; start it (stack-cfn up --local --keep) or fix the URL") from None
        except botocore.exceptions.NoCredentialsError:
            raise DeployError("no AWS credentials found: configure a profile, or use --local") from None
        except botocore.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if self.endpoint_url and status >= 500:
                raise DeployError(f"--endpoint-url: {self.endpoint_url} answered HTTP {status}; is it an AWS endpoint (stack-cfn up --local --keep)?") from None
            raise DeployError(f"AWS rejected the credentials: {' '.join(str(exc.response['Error'].get('Message', exc)).split())}") from None
        except Exception as exc:  # any other answer that is not AWS's (an HTML page parses to nothing, say)
            raise DeployError(f"--endpoint-url: {self.endpoint_url or 'AWS'} did not answer as AWS does ({type(exc).__name__}); "
                              "check the URL (stack-cfn up --local --keep prints one)") from None
