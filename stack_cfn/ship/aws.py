"""Where stack-cfn talks to AWS: real AWS through the standard credential chain, or any endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from stack_cfn.errors import DeployError

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class AwsTarget:
    """A region, and optionally an endpoint (moto, LocalStack) and a profile."""

    region: str
    endpoint_url: str | None = None
    profile: str | None = None

    @classmethod
    def from_env(cls, region: str | None, endpoint_url: str | None, profile: str | None, default_region: str) -> AwsTarget:
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        return cls(
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or default_region,
            endpoint_url=endpoint,
            profile=profile,
        )

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
        cfg = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        return self.session().client(service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=cfg)

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
            raise DeployError(f"AWS rejected the credentials: {exc.response['Error'].get('Message', exc)}") from None
