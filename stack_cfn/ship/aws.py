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
from stack_cfn.model.regions import KNOWN_REGIONS

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


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
    probe_attempts: int = 3  # sts, the first call: 3 x probe_read + backoff stays under 30 s for a silent endpoint
    probe_read: int = 5
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
                                  read_timeout=PATIENCE.probe_read if service == "sts" else PATIENCE.local_read if local else PATIENCE.read)


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
        """The target of a run: --endpoint-url (an explicit value is never replaced by AWS_ENDPOINT_URL), and the one
        region decide_region() settles on when no region is given."""
        endpoint = endpoint_url if endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint is not None:
            check_endpoint(endpoint, "--endpoint-url" if endpoint_url is not None else "AWS_ENDPOINT_URL")
        return cls(
            region=region or decide_region(None, profile, None, default_region)[0],
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
                "or try it on a local AWS: stack-cfn up --local (or --endpoint-url URL of one)"
            )
        return s

    def client(self, service: str, region: str | None = None) -> Any:
        """A client with stack-cfn's retries and timeouts (see client_config)."""
        return self.session().client(service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=client_config(service, bool(self.endpoint_url)))

    def check_reachable(self) -> None:
        """Fail early, in one line, when the endpoint does not answer (PATIENCE.probe_attempts of PATIENCE.probe_read s) or the region is unknown."""
        if self.region not in KNOWN_REGIONS:  # the one list (model/regions.py; a test keeps it equal to botocore's)
            raise DeployError(f"--region: {self.region!r} is not an AWS region; use one such as us-east-1")
        where, flag = (self.endpoint_url, "--endpoint-url: ") if self.endpoint_url else (f"AWS ({self.region})", "")
        try:
            self.client("sts").get_caller_identity()  # client_config("sts"): PATIENCE.probe_attempts of PATIENCE.probe_read s
        except (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError):
            raise DeployError(f"{flag}{where} did not answer within {PATIENCE.probe_read} s, {PATIENCE.probe_attempts} times; "
                              + ("check the URL, or that the server is an AWS endpoint" if self.endpoint_url else
                                 "check the network, a proxy (HTTPS_PROXY) or the region")) from None
        except botocore.exceptions.ConnectionError:  # refused, no route, a proxy that does not answer
            if not self.endpoint_url:
                raise DeployError(f"nothing answers at {where}: check the network, a proxy (HTTPS_PROXY) or the region; "
                                  "or run against the local AWS with stack-cfn up --local") from None
            raise DeployError(f"--endpoint-url: nothing answers at {self.endpoint_url}; start it (stack-cfn up --local --keep) or fix the URL") from None
        except botocore.exceptions.NoCredentialsError:
            raise DeployError("no AWS credentials found: configure a profile, or try it on a local AWS: stack-cfn up --local") from None
        except Exception as exc:  # an AWS answer, a busy one, or one that is not AWS's (an HTML page parses to nothing, say)
            raise self._unreachable(exc, where, flag) from None

    def _unreachable(self, exc: Exception, where: str, flag: str) -> DeployError:
        """Why the first call failed, once its retries ran out: AWS busy (throttled, 5xx, a dropped connection) is said
        as busy, with a rerun as the fix; an endpoint that never answers as AWS does is said as that."""
        from stack_cfn.ship.aws_errors import code_of, is_busy, message_of, status_of

        status, code = status_of(exc), code_of(exc)
        if self.endpoint_url and status >= 500:
            return DeployError(f"--endpoint-url: {self.endpoint_url} answered HTTP {status}, {PATIENCE.probe_attempts} times: AWS is busy, "
                               "or it is not an AWS endpoint; rerun, or check the URL (stack-cfn up --local --keep prints one)")
        if isinstance(exc, botocore.exceptions.ClientError) and is_busy(exc):
            return DeployError(f"AWS is busy (GetCallerIdentity: {code or status}, after retries); nothing was sent; rerun the command")
        if isinstance(exc, botocore.exceptions.ClientError):
            return DeployError(f"AWS rejected the credentials: {message_of(exc)}")
        if is_busy(exc):
            return DeployError(f"{flag}{where} dropped the connection or did not answer as AWS does ({type(exc).__name__}), "
                               f"{PATIENCE.probe_attempts} times: AWS is busy, or it is not an AWS endpoint; rerun, or check the URL")
        return DeployError(f"{flag}{where} did not answer as AWS does ({type(exc).__name__}); check the URL (stack-cfn up --local --keep prints one)")

def decide_region(flag: str | None, profile: str | None, stated: str | None, default: str) -> tuple[str, str]:
    """The one region of a run, and where it came from. The stack file's `region:` (when it names one), --region, the named
    profile's region (--profile or AWS_PROFILE) and AWS_REGION/AWS_DEFAULT_REGION must agree: any two that differ are a
    one-line error naming both. None given: `default` (the stack file's default region)."""
    sources = region_sources(flag, profile, stated)
    for source, value in sources:
        if value not in KNOWN_REGIONS:
            raise DeployError(f"{source}: {value[:60]!r} is not an AWS region stack-cfn knows; use one such as us-east-1")
    if not sources:
        return default, "the default region"
    first_source, first = sources[0]
    for source, value in sources[1:]:
        if value != first:
            raise DeployError(f"region: {first_source} says {first} but {source} says {value}; a run deploys to one region: "
                              f"make them agree ({_fix(first_source)}, or {_fix(source)})")
    return first, first_source


def region_sources(flag: str | None, profile: str | None, stated: str | None) -> list[tuple[str, str]]:
    sources = [("the stack file's region:", stated), ("--region", flag)]
    sources += [(name, (os.environ.get(name) or "").strip() or None) for name in REGION_VARIABLES]
    named = profile or os.environ.get("AWS_PROFILE") or None
    if named:
        sources.append((f"profile {named}", profile_region(named)))
    return [(source, value) for source, value in sources if value]


def _fix(source: str) -> str:
    if source.startswith("the stack file"):
        return "edit region: in the stack file"
    if source == "--region":
        return "drop --region"
    if source.startswith("profile"):
        return "use a profile of that region"
    return f"unset {source}"


def profile_region(name: str) -> str | None:
    """The region a named profile sets in ~/.aws/config, if any."""
    import botocore.session

    try:
        return botocore.session.Session(profile=name).get_scoped_config().get("region") or None
    except botocore.exceptions.ProfileNotFound:
        raise DeployError(f"--profile/AWS_PROFILE: profile {name!r} is not configured; run aws configure --profile {name} or unset it") from None
