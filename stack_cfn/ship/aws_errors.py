"""Which AWS errors are AWS being busy (rerun), which are AWS refusing us (fix something), and one line for each.

botocore's standard retry mode already retried throttling, 5xx answers and dropped connections (see
AwsTarget.client); what reaches here is what was left after the retries ran out. Such an error is not a
rejection of the request: it says nothing about the bucket, the template or the change set, so it must not
be reported as one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import botocore.exceptions
import botocore.parsers

from stack_cfn.errors import DeployError

# botocore/retries/standard.py's transient and throttling error codes, the ones CloudFormation and S3 answer.
THROTTLING = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
}
TRANSIENT = {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "InternalFailure",
             "ServiceUnavailable", "InternalServerError"}
NETWORK = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError, botocore.exceptions.ReadTimeoutError)
AwsError = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)


def code_of(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def status_of(exc: BaseException) -> int:
    if isinstance(exc, botocore.exceptions.ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_busy(exc: BaseException) -> bool:
    """Throttling, a 5xx answer, an answer that is not AWS's (an HTML error page), or no answer at all."""
    if isinstance(exc, (botocore.parsers.ResponseParserError, *NETWORK)):
        return True
    code = code_of(exc)
    return code in THROTTLING or code in TRANSIENT or status_of(exc) >= 500 or code.isdigit() and int(code) >= 500


def message_of(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        text = exc.response.get("Error", {}).get("Message") or code_of(exc) or str(exc)
    else:
        text = type(exc).__name__
    return " ".join(str(text).split())[:200]


def said(exc: BaseException) -> str:
    """One line for an AWS error no step of ours turned into its own message: the call, AWS's code and AWS's words
    (botocore's "An error occurred (X) when calling the Y operation: " said once, in that order)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        operation = getattr(exc, "operation_name", "") or "a call"
        if is_busy(exc):
            return f"AWS is busy ({operation}: {code_of(exc) or status_of(exc)}, after retries); rerun the command"
        return f"AWS refused {operation} ({code_of(exc) or status_of(exc)}): {message_of(exc)}"
    return f"AWS: {' '.join(str(exc).split())[:400]}"


def busy_error(exc: BaseException, operation: str, left: str) -> DeployError:
    """AWS is busy: what was left behind, and that a rerun is the fix."""
    what = code_of(exc) or (f"HTTP {status_of(exc)}" if status_of(exc) else type(exc).__name__)
    return DeployError(f"AWS is busy ({operation}: {what}, after retries); {left}; rerun the command")


@contextlib.contextmanager
def busy_means(operation: str, left: str) -> Iterator[None]:
    """Inside: a busy AWS is reported as busy, with what was left; any other AWS error goes on as it is."""
    try:
        yield
    except AwsError as exc:
        if is_busy(exc):
            raise busy_error(exc, operation, left) from None
        raise
