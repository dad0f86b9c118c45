"""iam-user.json: an IAM user for software outside AWS (the seed's iam-user module).

The user gets the stack file's policies (statements built with awacs, managed ARNs) and an access
key. The key's secret goes straight into a Secrets Manager secret: CloudFormation resolves it at
deploy time, so it is in no template, build file or output (the seed output the secret key).

Its name is the UserName parameter, computed at build time (model/data.py iam_user_name: at most IAM's
64 characters, never CloudFormation's random nested-stack suffix). A named IAM resource needs
CAPABILITY_NAMED_IAM (AWS::IAM::User reference, UserName: "If you specify a name, you must specify the
CAPABILITY_NAMED_IAM value to acknowledge your template's capabilities"); the deploy derives that from the
template. Exports are `<root stack>-<user>-<Output>`, as a database's are.
"""

from __future__ import annotations

from awacs.aws import Policy
from troposphere import Equals, GetAtt, If, Join, Not, Ref, StackName, Sub, Template, iam, secretsmanager

from stack_cfn.blueprints.common import emit, new_template
from stack_cfn.blueprints.contract import declare
from stack_cfn.blueprints.iam_user_contract import IamUser as U
from stack_cfn.blueprints.suppressions import IAM_USER_POLICY, SECRET_DEFAULT_KEY, skipping
from stack_cfn.model.data import IamUserShape
from stack_cfn.model.policies import statement

HAS_STACK_NAME = "HasStackName"


def build_iam_user(shape: IamUserShape) -> Template:
    user = shape.user
    t = new_template("stack-cfn iam-user: a user, its policies, an access key kept in Secrets Manager")
    p = declare(t, U, shape)
    t.add_condition(HAS_STACK_NAME, Not(Equals(p[U.StackName], "")))
    statements = [statement(f"iam_users.{user.name}.policies[{i}]", s) for i, s in enumerate(user.policies) if not isinstance(s, str)]
    grants: dict[str, object] = {}
    if statements:
        grants["Policies"] = [iam.Policy(PolicyName="user", PolicyDocument=Policy(Version="2012-10-17", Statement=statements))]
    managed = [s for s in user.policies if isinstance(s, str)]
    if managed:
        grants["ManagedPolicyArns"] = managed
    iam_user = t.add_resource(iam.User("User", UserName=p[U.UserName], **grants, Metadata=skipping(IAM_USER_POLICY)))
    key = t.add_resource(iam.AccessKey("AccessKey", UserName=Ref(iam_user)))
    secret = t.add_resource(secretsmanager.Secret(
        "AccessKeySecret", Description=Join(" ", ["Access key of IAM user", Ref(iam_user)]),
        SecretString=Sub('{"AccessKeyId": "${AccessKey}", "SecretAccessKey": "${Secret}"}', Secret=GetAtt(key, "SecretAccessKey")),
        Metadata=skipping(SECRET_DEFAULT_KEY)))
    export = lambda out: Join("-", [If(HAS_STACK_NAME, p[U.StackName], StackName), p[U.Name], out.name])
    emit(t, U.Outputs.UserArn, GetAtt(iam_user, "Arn"), export=export(U.Outputs.UserArn))
    emit(t, U.Outputs.AccessKeyId, Ref(key), export=export(U.Outputs.AccessKeyId))
    emit(t, U.Outputs.SecretArn, Ref(secret), export=export(U.Outputs.SecretArn))
    return t
