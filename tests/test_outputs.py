"""The outputs front page, grouped and worded without AWS (ship/outputs.py)."""

from __future__ import annotations

import json

from stack_cfn.model.config import ServiceConfig, StackConfig
from stack_cfn.model.data import DatabaseConfig
from stack_cfn.ship.outputs import front_page, front_page_text, service_urls

NESTED = {
    "NetworkStack": {"VpcId": "vpc-1", "AlarmTopic": "arn:aws:sns:us-east-1:1:front-alarms"},
    "ClusterStack": {"Cluster": "front"},
    "MyApiService": {"Fqdn": "my-api.stack.local", "LogGroup": "/ecs/front/my-api"},
    "WwwService": {"ExternalFqdn": "www.example.com", "InternalFqdn": "www.stack.local", "Dns": "lb-1.elb.amazonaws.com"},
    "MainDatabase": {"Endpoint": "main.abc.rds.amazonaws.com", "Port": "5432", "SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:main"},
    "CiUser": {"AccessKeyId": "AKIA1", "SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:ci"},
}


def test_a_public_service_answers_on_https_unless_it_serves_plain_http() -> None:
    assert service_urls(NESTED["WwwService"], plain_http=False) == ["https://www.example.com/", "http://www.stack.local/"]
    assert service_urls(NESTED["WwwService"], plain_http=True)[0] == "http://www.example.com/"
    assert service_urls({"LogGroup": "g"}, plain_http=False) == []


def test_modules_are_named_as_in_the_stack_file_and_in_its_order() -> None:
    cfg = StackConfig(name="front", environment="test", services=(ServiceConfig(name="www", kind="web-service", image="nginx", port=80, https=False),
                                                                 ServiceConfig(name="my-api", image="nginx", port=80)),
                      databases=(DatabaseConfig(name="main"),))
    page = front_page("front-test", "us-east-1", {"Region": "us-east-1"}, NESTED, [], cfg)
    assert list(page["services"]) == ["www", "my-api"] and page["services"]["www"]["urls"][0] == "http://www.example.com/"
    assert page["databases"]["main"] == {"endpoint": "main.abc.rds.amazonaws.com", "port": "5432",
                                         "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:main", "outputs": NESTED["MainDatabase"] | {}}
    assert page["iam_users"] == {"ci": {"access_key_id": "AKIA1", "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:ci",
                                        "outputs": NESTED["CiUser"]}}, "a module not in the stack file is named from its logical id"
    assert page["alarm_topic"] == "arn:aws:sns:us-east-1:1:front-alarms"
    json.dumps(page)  # plain data
    text = front_page_text(page)
    assert text.startswith("stack front-test (us-east-1)\n") and "service my-api" in text and "database main" in text
    assert "  url        http://my-api.stack.local/" in text


def test_without_alarms_the_page_says_so() -> None:
    page = front_page("s", "us-east-1", {}, {"NetworkStack": {"VpcId": "vpc-1"}}, ["s-services-1"], None)
    assert page["alarm_topic"] is None and "(no alarms: section)" in front_page_text(page)
    assert "service groups (importing s's exports): s-services-1" in front_page_text(page)
