"""The IAM user's contract (iam-user.json), beside its builder iam_user.py."""

from __future__ import annotations

from stack_cfn.blueprints.contract import Out, Param
from stack_cfn.blueprints.layer_contract import DataLayer, literal
from stack_cfn.model.data import IAM_USER_NAME, IamUserShape


class IamUser(DataLayer[IamUserShape]):
    """iam-user.json: a user, its policies, an access key whose secret goes into Secrets Manager (never an output)."""

    Name = Param("User name in the stack: exports <StackName>-<Name>-<Output>", **literal(lambda s: s.name, required=True))
    UserName = Param("The IAM user's name (at most 64 characters; stack-cfn gives <name>-<environment>-<user>, shortened to fit)",
                     rule=IAM_USER_NAME, **literal(lambda s: s.iam_name, required=True))

    class Outputs:
        UserArn = Out("The user's ARN")
        AccessKeyId = Out("The access key id (its secret is in SecretArn, never an output)")
        SecretArn = Out("Secrets Manager secret with AccessKeyId and SecretAccessKey")
