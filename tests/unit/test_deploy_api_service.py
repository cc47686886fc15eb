"""The API's ECS service in deploy/inboxql.yaml, checked against the code it runs: the task's
environment is Settings' (and parses), the load balancer's health check is a served path, its
idle timeout sits between the WebSocket ping interval and the keep-alive, draining covers the
server's SIGTERM shutdown, the task role grants what the command's processes call, and the
task's size and scaling targets are the cost model's, from the measured CPU per operation."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from commands import parse_args
from server import create_app
from services import delivery
from services.aws import AwsEndpoints
from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.cpu import api_cpu_ms_per_day, load_cpu_profile
from services.cost.workload import requests_per_day
from services.observability.probes import READY_TIMEOUT_SECONDS
from services.settings import Settings
from services.settings.tracing_rows import TRACING_ROWS
from services.settings.variables import ENV_ROWS
from tests.dockerfile import stages
from tests.unit.test_deploy_template import (
    api_actions,
    as_list,
    granted,
    statements,
    worker_actions,
)

FARGATE_MAX_STOP_TIMEOUT = 120  # seconds (ECS's ContainerDefinition stopTimeout, on Fargate)


@pytest.fixture(scope="module")
def container(resources: dict[str, Any]) -> dict[str, Any]:
    definitions = resources["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert len(definitions) == 1
    found: dict[str, Any] = definitions[0]
    return found


def default(template: dict[str, Any], parameter: str) -> str:
    return str(template["Parameters"][parameter]["Default"])


def as_text(value: Any, template: dict[str, Any]) -> str:
    """A literal as itself, a parameter as its default, anything AWS computes as a stand-in
    of the right shape (`rediss://` stays visible in the URL)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = template["Parameters"].get(value["Ref"], {})
        return str(parameter.get("Default", f"<{value['Ref']}>"))
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        return f"<{value}>"
    return str(value)


@pytest.fixture(scope="module")
def task_env(template: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    env = {item["Name"]: as_text(item["Value"], template) for item in container["Environment"]}
    env |= {item["Name"]: "a-secret-from-secrets-manager" for item in container["Secrets"]}
    return env


@pytest.fixture(scope="module")
def task_settings(task_env: dict[str, str]) -> Settings:
    """The settings the container would run with: its environment through Settings itself."""
    return Settings.from_env(task_env)


def command_args(container: dict[str, Any]) -> Any:
    entrypoint = stages()[-1].last("ENTRYPOINT").exec_form()
    assert entrypoint[:2] == ["python", "server.py"]
    return parse_args(entrypoint[2:] + container["Command"])


# --- environment and secrets -------------------------------------------------------------


def test_every_variable_the_task_sets_is_a_setting(container: dict[str, Any]) -> None:
    names = {name for row in ENV_ROWS for name in row.names}
    # And the OpenTelemetry SDK's own variables, declared beside the settings (tracing_rows).
    names |= {row.env for row in TRACING_ROWS}
    variables = [item["Name"] for item in container["Environment"]]
    assert len(variables) == len(set(variables))
    assert set(variables) <= names, set(variables) - names
    secrets = {item["Name"]: item["ValueFrom"] for item in container["Secrets"]}
    assert secrets == {"INBOXQL_JWT_SECRET": {"Ref": "JwtSecretArn"}}
    secret_rows = {row.env for row in ENV_ROWS if row.secret}
    # A secret is never written into the task definition, where anyone who reads it sees it.
    assert not secret_rows & set(variables)
    assert set(secrets) <= secret_rows


def test_the_task_environment_parses_into_external_settings(task_settings: Settings) -> None:
    assert task_settings.stack == "external"
    assert task_settings.jwt_secret is not None
    assert task_settings.redis_url.startswith("rediss://")  # Serverless is TLS only
    assert task_settings.redis_cluster
    assert not (task_settings.demo or task_settings.graphiql or task_settings.introspection)


def test_the_api_and_the_worker_function_name_the_same_resources(
    resources: dict[str, Any], container: dict[str, Any]
) -> None:
    api = {item["Name"]: item["Value"] for item in container["Environment"]}
    worker = resources["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    shared = (
        "INBOXQL_TABLE",
        "INBOXQL_QUEUE",
        "INBOXQL_DLQ",
        "REDIS_URL",
        "INBOXQL_REDIS_CLUSTER",
        "INBOXQL_RETENTION_DAYS",
    )
    # Sharded subscribers hear only sharded publishes: both must agree on cluster mode.
    assert {name: api[name] for name in shared} == {name: worker[name] for name in shared}


# --- load balancer, health checks, draining --------------------------------------------


def test_the_health_checks_ask_for_served_paths(
    resources: dict[str, Any], container: dict[str, Any], task_settings: Settings
) -> None:
    target_group = resources["ApiTargetGroup"]["Properties"]
    app = create_app(task_settings, AwsEndpoints(), workers=0)
    served = {getattr(route, "path", None) for route in app.routes}
    assert target_group["HealthCheckPath"] == "/readyz" and "/readyz" in served
    # /readyz answers within its probes' budget, well inside the balancer's patience.
    assert target_group["HealthCheckTimeoutSeconds"] > READY_TIMEOUT_SECONDS
    assert target_group["HealthCheckTimeoutSeconds"] < target_group["HealthCheckIntervalSeconds"]
    # ECS ignores the image's HEALTHCHECK; the task runs the same command.
    image_check = stages()[-1].last("HEALTHCHECK").arguments.partition("CMD ")[2]
    assert container["HealthCheck"]["Command"] == ["CMD", *json.loads(image_check)]


def test_one_port_from_the_image_to_the_load_balancer(
    resources: dict[str, Any], container: dict[str, Any]
) -> None:
    port = command_args(container).port
    assert [m["ContainerPort"] for m in container["PortMappings"]] == [port]
    assert resources["ApiTargetGroup"]["Properties"]["Port"] == port
    assert resources["ApiService"]["Properties"]["LoadBalancers"][0]["ContainerPort"] == port
    assert container["HealthCheck"]["Command"][-1] == str(port)
    ingress = resources["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(rule["FromPort"], rule["ToPort"]) for rule in ingress] == [(port, port)]
    assert ingress[0]["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroup"}


def load_balancer_attribute(resources: dict[str, Any], resource: str, key: str) -> int:
    properties = resources[resource]["Properties"]
    attributes = properties.get("LoadBalancerAttributes") or properties["TargetGroupAttributes"]
    return int({a["Key"]: a["Value"] for a in attributes}[key])


def test_idle_timeout_outlasts_the_ping_and_is_outlasted_by_keep_alive(
    resources: dict[str, Any], task_settings: Settings
) -> None:
    idle = load_balancer_attribute(resources, "LoadBalancer", "idle_timeout.timeout_seconds")
    # An idle WebSocket carries a ping every interval, so the balancer never sees it idle.
    assert task_settings.ws_ping_interval_seconds < idle
    # The target closes idle HTTP connections after the balancer does, never before.
    assert task_settings.keep_alive_timeout_seconds > idle


def request_budget(settings: Settings) -> float:
    """The longest an AWS call in a request can take: every attempt times out."""
    per_attempt = settings.connect_timeout_seconds + settings.read_timeout_seconds
    return settings.aws_max_attempts * per_attempt


def shutdown_bound(settings: Settings, in_process_workers: bool) -> float:
    """What the server's SIGTERM shutdown can take: the requests in flight finish, then the
    delivery loops (if any) end their long poll and drain the queue for DRAIN_SECONDS."""
    workers = settings.long_poll_seconds + delivery.DRAIN_SECONDS if in_process_workers else 0
    return request_budget(settings) + workers


def test_draining_covers_the_servers_shutdown(
    resources: dict[str, Any], container: dict[str, Any], task_settings: Settings
) -> None:
    delay = load_balancer_attribute(
        resources, "ApiTargetGroup", "deregistration_delay.timeout_seconds"
    )
    # ECS drains the target before it sends SIGTERM: a request in flight has the delay.
    assert delay >= request_budget(task_settings)
    in_process = not command_args(container).no_worker
    bound = shutdown_bound(task_settings, in_process)
    assert bound <= container["StopTimeout"] <= FARGATE_MAX_STOP_TIMEOUT
    # With in-process workers this task's stop timeout would be too short: a guard on the bound.
    assert shutdown_bound(task_settings, True) > bound


def test_the_file_limit_leaves_room_for_max_connections(
    container: dict[str, Any], task_settings: Settings
) -> None:
    (nofile,) = [u for u in container["Ulimits"] if u["Name"] == "nofile"]
    assert nofile["SoftLimit"] > task_settings.max_connections


# --- IAM ---------------------------------------------------------------------------------


def test_the_task_role_grants_what_the_commands_processes_call(
    resources: dict[str, Any], container: dict[str, Any]
) -> None:
    role = resources["ApiTaskRole"]["Properties"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "ecs-tasks.amazonaws.com"}
    assert "Policies" not in role  # nothing beyond the checked managed policies
    attached = [arn["Ref"] for arn in role["ManagedPolicyArns"]]
    actions = set().union(*(granted(resources[name]["Properties"]) for name in attached))
    needed = api_actions()
    if not command_args(container).no_worker:
        needed |= worker_actions()
    assert actions == needed, actions ^ needed


def test_the_execution_role_pulls_logs_and_reads_the_secret_only(
    resources: dict[str, Any], container: dict[str, Any]
) -> None:
    role = resources["ApiExecutionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    inline = [s for policy in role["Policies"] for s in statements(policy)]
    by_resource = {str(as_list(s["Resource"])): set(as_list(s["Action"])) for s in inline}
    assert by_resource.pop(str(["*"])) == {"ecr:GetAuthorizationToken"}
    repository = (
        "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}"
        ":repository/${ApiImageRepository}"
    )
    assert "${ApiImageRepository}:${ApiImageTag}" in container["Image"]["Fn::Sub"]
    assert by_resource == {
        str([{"Fn::Sub": repository}]): {
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        },
        str([{"Fn::Sub": "${ApiLogGroup.Arn}:log-stream:*"}]): {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        },
        str([{"Ref": "JwtSecretArn"}]): {"secretsmanager:GetSecretValue"},
    }


# --- size and scaling --------------------------------------------------------------------


def test_the_task_size_is_the_cost_models(template: dict[str, Any]) -> None:
    a = Assumptions()
    assert int(default(template, "ApiCpu")) == a.api_task_vcpu * 1024
    assert int(default(template, "ApiMemory")) == a.api_task_gb * 1024
    assert int(default(template, "ApiMinTasks")) == a.api_min_tasks
    assert int(default(template, "ApiCpuTarget")) == round(a.api_target_cpu_utilisation * 100)


def test_the_request_target_is_what_the_measured_cpu_allows(template: dict[str, Any]) -> None:
    a, usage = Assumptions(), UsageProfile()
    per_request_ms = api_cpu_ms_per_day(load_cpu_profile(), usage) / requests_per_day(usage)
    per_minute = 60 * 1000 * a.api_task_vcpu * a.api_target_cpu_utilisation / per_request_ms
    target = int(default(template, "ApiRequestsPerTaskTarget"))
    # Re-measuring moves it a little; a change beyond this is one for the template.
    assert math.isclose(target, per_minute, rel_tol=0.15), (target, round(per_minute))


def test_the_service_scales_on_cpu_and_requests_per_target(resources: dict[str, Any]) -> None:
    target = resources["ApiScalableTarget"]["Properties"]
    assert target["ResourceId"] == {"Fn::Sub": "service/${ApiCluster}/${ApiService.Name}"}
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        {"Ref": "ApiMinTasks"},
        {"Ref": "ApiMaxTasks"},
    )
    policies = {
        policy["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: policy["Properties"]
        for policy in resources.values()
        if policy["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
        # The ECS service's, not DynamoDB's (tests/unit/test_deploy_capacity.py checks those).
        and resources[policy["Properties"]["ScalingTargetId"]["Ref"]]["Properties"][
            "ServiceNamespace"
        ]
        == "ecs"
    }
    assert set(policies) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    for policy in policies.values():
        assert policy["ScalingTargetId"] == {"Ref": "ApiScalableTarget"}
    label = policies["ALBRequestCountPerTarget"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ]["ResourceLabel"]
    assert label == {
        "Fn::Sub": "${LoadBalancer.LoadBalancerFullName}/${ApiTargetGroup.TargetGroupFullName}"
    }


def test_tasks_run_in_the_private_subnets_behind_the_url(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    network = resources["ApiService"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == {"Ref": "SubnetIds"}
    assert network["AssignPublicIp"] == "DISABLED"
    assert {"Ref": "CacheClientSecurityGroup"} in network["SecurityGroups"]
    assert resources["LoadBalancer"]["Properties"]["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert "ApiUrl" in template["Outputs"]


def test_the_public_balancer_never_forwards_metrics(resources: dict[str, Any]) -> None:
    # /metrics is served without a token (server.py), so only the VPC may reach it.
    rule = resources["MetricsNotPublic"]["Properties"]
    assert rule["ListenerArn"] == {"Ref": "Listener"}
    [condition] = rule["Conditions"]
    assert condition["Field"] == "path-pattern"
    assert "/metrics" in condition["PathPatternConfig"]["Values"]
    [action] = rule["Actions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"
