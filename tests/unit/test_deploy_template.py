"""deploy/inboxql.yaml: cfn-lint clean, and the same table, queues, names and permissions as the
code, by construction: each check derives its expectation from the code itself."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str  # type: ignore[import-untyped]

from services import client_opener, delivery, inbox
from services.dynamodb import provisioning, transactions
from services.dynamodb.deletion import Deletions
from services.dynamodb.deliveries import Deliveries
from services.dynamodb.provisioning import TABLE_DEFINITION, TTL_ATTRIBUTE
from services.dynamodb.read_marks import ReadMarks
from services.dynamodb.store import DynamoMessageStore
from services.observability.probes import DependencyProbes
from services.settings import SETTINGS_HELP, Settings, SettingsError
from services.sqs.consumer import SqsDeliveryConsumer
from services.sqs.producer import SqsDeliveryProducer
from services.sqs.provisioning import ensure_queues

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "inboxql.yaml"

# What the Lambda service itself does with the function's role to run an SQS event source
# mapping (AWS Lambda developer guide, "Using Lambda with Amazon SQS": execution role).
LAMBDA_EVENT_SOURCE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# What Lambda needs to attach a function to a VPC; these take no resource-level ARNs.
LAMBDA_VPC_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def plain(value: Any) -> Any:
    """cfn-lint's decoded nodes as plain dicts, lists and strings."""
    return json.loads(json.dumps(value))


def load_template() -> dict[str, Any]:
    """deploy/inboxql.yaml as cfn-lint decodes it, refused if it does not decode cleanly."""
    decoded, problems = decode_str(TEMPLATE.read_text())
    assert not problems, problems
    result: dict[str, Any] = plain(decoded)
    return result


def under_condition(value: Any, conditions: dict[str, bool]) -> Any:
    """`value` with each `Fn::If` on a condition in `conditions` decided, and what decides to
    `AWS::NoValue` left out, as CloudFormation does."""
    no_value = {"Ref": "AWS::NoValue"}
    if isinstance(value, dict):
        if set(value) == {"Fn::If"} and value["Fn::If"][0] in conditions:
            condition, when_true, when_false = value["Fn::If"]
            return under_condition(when_true if conditions[condition] else when_false, conditions)
        decided = {key: under_condition(item, conditions) for key, item in value.items()}
        return {key: item for key, item in decided.items() if item != no_value}
    if isinstance(value, list):
        decided_items = [under_condition(item, conditions) for item in value]
        return [item for item in decided_items if item != no_value]
    return value


def resolve(value: Any, template: dict[str, Any]) -> Any:
    """A `Ref` to a parameter, as its default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = template["Parameters"].get(value["Ref"])
        if parameter is not None:
            return parameter["Default"]
    return value


# --- cfn-lint ----------------------------------------------------------------------------


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert executable is not None, "cfn-lint is not installed next to this Python"
    return subprocess.run(
        [executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_cfn_lint_passes_without_errors_or_warnings() -> None:
    result = cfn_lint(TEMPLATE)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_cfn_lint_does_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = TEMPLATE.read_text()
    assert text.count("BatchSize: 10\n") == 1
    broken.write_text(text.replace("BatchSize: 10\n", "BatchSize: 100000\n"))
    result = cfn_lint(broken)
    assert result.returncode != 0
    assert "E3034" in result.stdout


# --- the table ---------------------------------------------------------------------------


def test_table_is_exactly_the_table_definition(resources: dict[str, Any]) -> None:
    # With the default CapacityMode, on-demand: tests/unit/test_deploy_capacity.py checks
    # what provisioned capacity adds.
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    properties = under_condition(table["Properties"], {"ProvisionedCapacity": False})
    for key, value in TABLE_DEFINITION.items():
        assert properties[key] == value, key
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TableName"] == {"Ref": "TableName"}
    assert properties["TableClass"] == {"Ref": "TableClass"}
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # Nothing beyond the definition, TTL, PITR, the class and the name: no shape the code does
    # not know.
    assert set(properties) == set(TABLE_DEFINITION) | {
        "TableName",
        "TableClass",
        "TimeToLiveSpecification",
        "PointInTimeRecoverySpecification",
    }
    assert table["DeletionPolicy"] == "Retain"


# --- the queues --------------------------------------------------------------------------


class RecordingSqs:
    """Just enough of an SQS client for `ensure_queues`, recording what it creates."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, str]] = {}

    @staticmethod
    def arn(name: str) -> str:
        return f"arn:aws:sqs:us-east-1:000000000000:{name}"

    async def create_queue(
        self, QueueName: str, Attributes: dict[str, str] | None = None
    ) -> dict[str, str]:
        self.created[QueueName] = dict(Attributes or {})
        return {"QueueUrl": f"https://sqs.test/000000000000/{QueueName}"}

    async def get_queue_attributes(
        self, QueueUrl: str, AttributeNames: list[str]
    ) -> dict[str, dict[str, str]]:
        return {"Attributes": {"QueueArn": self.arn(QueueUrl.rsplit("/", 1)[1])}}


async def test_queues_are_what_ensure_queues_creates(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    defaults = Settings()
    sqs = RecordingSqs()
    await ensure_queues(
        sqs,
        defaults.queue_name,
        defaults.dead_letter_queue_name,
        max_receive_count=defaults.max_receive_count,
        visibility_timeout_seconds=defaults.visibility_timeout_seconds,
    )
    created = sqs.created[defaults.queue_name]
    redrive = json.loads(created["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == sqs.arn(defaults.dead_letter_queue_name)

    queue = resources["DeliveryQueue"]["Properties"]
    assert resolve(queue["QueueName"], template) == defaults.queue_name
    assert str(resolve(queue["VisibilityTimeout"], template)) == created["VisibilityTimeout"]
    assert str(queue["MessageRetentionPeriod"]) == created["MessageRetentionPeriod"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    assert str(resolve(queue["RedrivePolicy"]["maxReceiveCount"], template)) == str(
        redrive["maxReceiveCount"]
    )

    dead = resources["DeadLetterQueue"]["Properties"]
    assert resolve(dead["QueueName"], template) == defaults.dead_letter_queue_name
    assert set(sqs.created) == {defaults.queue_name, defaults.dead_letter_queue_name}
    # A dead letter is kept as long as the longest a message can wait in the queue: 14 days,
    # locally as on AWS.
    assert dead["MessageRetentionPeriod"] == queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    dead_created = sqs.created[defaults.dead_letter_queue_name]
    assert str(dead["MessageRetentionPeriod"]) == dead_created["MessageRetentionPeriod"]


# --- parameters and settings -------------------------------------------------------------


def test_parameter_defaults_are_the_settings_defaults(template: dict[str, Any]) -> None:
    defaults = Settings()
    parameters = template["Parameters"]
    assert parameters["TableName"]["Default"] == defaults.table_name
    assert parameters["QueueName"]["Default"] == defaults.queue_name
    assert parameters["DeadLetterQueueName"]["Default"] == defaults.dead_letter_queue_name
    assert int(parameters["MaxReceiveCount"]["Default"]) == defaults.max_receive_count
    assert int(parameters["VisibilityTimeout"]["Default"]) == defaults.visibility_timeout_seconds


@pytest.mark.parametrize(
    ("parameter", "variable"),
    [
        ("MaxReceiveCount", "INBOXQL_MAX_RECEIVE_COUNT"),
        ("VisibilityTimeout", "INBOXQL_VISIBILITY_TIMEOUT"),
    ],
)
def test_parameter_ranges_are_the_settings_ranges(
    template: dict[str, Any], parameter: str, variable: str
) -> None:
    spec = template["Parameters"][parameter]
    low, high = int(spec["MinValue"]), int(spec["MaxValue"])
    for accepted in (low, high):
        Settings.from_env({variable: str(accepted)})
    for refused in (low - 1, high + 1):
        with pytest.raises(SettingsError):
            Settings.from_env({variable: str(refused)})


def test_retention_parameter_is_the_setting(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["RetentionDays"]
    variable = "INBOXQL_RETENTION_DAYS"
    # Off by default, as the setting is.
    assert Settings.from_env({variable: spec["Default"]}).retention_days is None
    assert Settings().retention_days is None
    pattern = re.compile(spec["AllowedPattern"])
    # CloudFormation matches the whole value; what it lets through, the setting takes, and
    # what the setting refuses, it does not let through.
    for days in [*range(1, 1001), 1999, 2999, 3599, 3600, 3649, 3650]:
        assert pattern.fullmatch(str(days)), days
        assert Settings.from_env({variable: str(days)}).retention_days == days
    for refused in ["0", "3651", "4000", "07", "-1", "1.5", "", "OFF", "30d"]:
        assert not pattern.fullmatch(refused), refused


def test_worker_function_matches_the_code(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    function = resources["WorkerFunction"]["Properties"]
    module_name, _, attribute = function["Handler"].rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    assert callable(getattr(module, attribute))
    assert function["Runtime"].startswith("python3.")

    variables = function["Environment"]["Variables"]
    known = {name for name, _, _ in SETTINGS_HELP}
    assert set(variables) <= known, set(variables) - known
    assert variables["INBOXQL_STACK"] == "external"
    assert variables["INBOXQL_TABLE"] == {"Ref": "Table"}
    assert variables["INBOXQL_QUEUE"] == {"Fn::GetAtt": ["DeliveryQueue", "QueueName"]}
    assert variables["INBOXQL_DLQ"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert variables["REDIS_URL"]["Fn::Sub"].startswith("rediss://")  # Serverless is TLS only
    # The function must finish a batch before its messages become visible again.
    timeout = int(resolve(function["Timeout"], template))
    assert timeout <= int(template["Parameters"]["VisibilityTimeout"]["Default"])

    mapping = resources["WorkerEventSource"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"]["BatchSize"] == delivery.BATCH_SIZE
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    assert mapping["Properties"]["FunctionName"] == {"Ref": "WorkerFunction"}


def test_cache_is_serverless_valkey(resources: dict[str, Any]) -> None:
    cache = resources["Cache"]
    assert cache["Type"] == "AWS::ElastiCache::ServerlessCache"
    assert cache["Properties"]["Engine"] == "valkey"
    assert cache["Properties"]["SubnetIds"] == {"Ref": "SubnetIds"}


def test_outputs_give_every_external_setting(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    for name in (
        "TableName",
        "QueueName",
        "QueueUrl",
        "DeadLetterQueueName",
        "DeadLetterQueueUrl",
        "CacheEndpoint",
        "RedisUrl",
        "ApiPolicyArn",
        "WorkerPolicyArn",
    ):
        assert name in outputs, name


# --- IAM: derived from the calls the code makes ------------------------------------------

TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# Batch APIs authorised as their single-message action.
BATCH_ACTIONS = {
    "DeleteMessageBatch": "DeleteMessage",
    "SendMessageBatch": "SendMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def iam_actions(service: str, source: str, receiver: str) -> set[str]:
    """The IAM actions for the `<receiver>.<operation>(` calls in `source`. A transaction is
    authorised as the actions inside it, so its item kinds are read from the same source and
    from the module that builds the store's transactions."""
    actions: set[str] = set()
    for operation in re.findall(rf"{receiver}\.([a-z_]+)\(", source):
        name = "".join(part.capitalize() for part in operation.split("_"))
        if name == "TransactWriteItems":
            with_items = source + inspect.getsource(transactions)
            kinds = re.findall(r'"(Put|Update|Delete|ConditionCheck)": \{', with_items)
            assert kinds, "a transaction whose items this test cannot see"
            actions |= {f"dynamodb:{TRANSACTION_ACTIONS[kind]}" for kind in kinds}
        else:
            actions.add(f"{service}:{BATCH_ACTIONS.get(name, name)}")
    return actions


# The store hands some of its methods to objects it holds: `self._marks.mark(` is `ReadMarks.mark`.
DELEGATES: dict[str, type] = {
    "_marks": ReadMarks,
    "_deletions": Deletions,
    "_deliveries": Deliveries,
}


def reachable(cls: type, roots: Iterable[str]) -> str:
    """The source of `roots` and every method of `cls` they call, transitively, with the
    module-level functions they call: by name from their own module's namespace (the store's
    paging helpers), or through a module (`listing.list_inbox(`), and the methods of the
    objects the store delegates to (`DELEGATES`)."""
    seen: dict[str, str] = {}
    pending: list[tuple[type | dict[str, Any], str]] = [(cls, name) for name in roots]
    while pending:
        owner, name = pending.pop()
        if isinstance(owner, type):
            target = getattr(owner, name)
            own = vars(inspect.getmodule(owner))
            key = f"{owner.__qualname__}.{name}"
        else:
            target, key = owner[name], f"{owner['__name__']}.{name}"
            # What a function calls by name is looked up where it is defined.
            own = vars(inspect.getmodule(target))
        if key in seen:
            continue
        seen[key] = source = inspect.getsource(target)
        if isinstance(owner, type):
            pending += [
                (owner, m) for m in re.findall(r"self\.(\w+)\(", source) if hasattr(owner, m)
            ]
            pending += [
                (DELEGATES[a], m)
                for a, m in re.findall(r"self\.(\w+)\.(\w+)\(", source)
                if a in DELEGATES
            ]
        pending += [
            (own, f)
            for f in re.findall(r"(?<![.\w])(\w+)\(", source)
            if inspect.isfunction(own.get(f)) and own[f].__module__.startswith("services.")
        ]
        pending += [
            (vars(own[m]), f)
            for m, f in re.findall(r"(?<![.\w])(\w+)\.(\w+)\(", source)
            if inspect.ismodule(own.get(m)) and inspect.isfunction(getattr(own[m], f, None))
        ]
    return "\n".join(seen.values())


def called(source: str, receiver: str) -> set[str]:
    return set(re.findall(rf"{receiver}\.(\w+)\(", source))


# An adapter's own client, or the one its paging helpers are handed.
CLIENT = r"(?:self\._|\b)client"

# Both processes enter bootstrap(), whose client opener looks the queue up by name.
STARTUP = iam_actions("sqs", inspect.getsource(client_opener), r"\bsqs")


def service_sources() -> str:
    """Every service module's source: the API's calls to the store are theirs (the worker's
    are `delivery.deliver`'s)."""
    folder = Path(inspect.getfile(inbox)).parent
    return "\n".join(
        path.read_text() for path in sorted(folder.glob("*.py")) if path.name != "delivery.py"
    )


def api_actions() -> set[str]:
    service = service_sources()
    store = reachable(DynamoMessageStore, called(service, r"self\.store"))
    queue = reachable(SqsDeliveryProducer, called(service, r"self\.queue"))
    readiness = inspect.getsource(DependencyProbes.readiness)
    return (
        iam_actions("dynamodb", store, CLIENT)
        | iam_actions("sqs", queue, CLIENT)
        | iam_actions("dynamodb", readiness, r"self\.dynamodb")
        | iam_actions("sqs", readiness, r"self\.sqs")
        | STARTUP
    )


def worker_actions() -> set[str]:
    store = reachable(DynamoMessageStore, called(inspect.getsource(delivery.deliver), r"\bstore"))
    queue = reachable(
        SqsDeliveryConsumer, called(inspect.getsource(delivery.DeliveryWorker), r"self\.queue")
    )
    return (
        iam_actions("dynamodb", store, CLIENT)
        | iam_actions("sqs", queue, CLIENT)
        | STARTUP
        | LAMBDA_EVENT_SOURCE_ACTIONS
    )


def dynamodb_adapter_source() -> str:
    """Every module of the DynamoDB adapter (the store and the reads it hands out), but the
    table's provisioning: CloudFormation creates the table in production."""
    folder = Path(inspect.getfile(DynamoMessageStore)).parent
    modules = sorted(set(folder.glob("*.py")) - {Path(inspect.getfile(provisioning))})
    return "\n".join(path.read_text() for path in modules)


def every_adapter_call() -> set[str]:
    """What the brief asks to cover: every client call in the adapters, the probes and
    the composition root's client opener."""
    opener_source = Path(client_opener.__file__).read_text()
    probes = Path(inspect.getfile(DependencyProbes)).read_text()
    return (
        iam_actions("dynamodb", dynamodb_adapter_source(), CLIENT)
        | iam_actions("dynamodb", probes, r"self\.dynamodb")
        | iam_actions("sqs", probes, r"self\.sqs")
        | iam_actions("sqs", Path(inspect.getfile(SqsDeliveryProducer)).read_text(), r"_client")
        | iam_actions("sqs", Path(inspect.getfile(SqsDeliveryConsumer)).read_text(), r"_client")
        | iam_actions("dynamodb", opener_source, r"\bdynamodb")
        | iam_actions("sqs", opener_source, r"\bsqs")
    )


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    assert all(s["Effect"] == "Allow" for s in found)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(policy: dict[str, Any]) -> set[str]:
    return {action for s in statements(policy) for action in as_list(s["Action"])}


def test_the_derivation_sees_the_calls_it_should() -> None:
    # Guards the regexes: if they matched nothing, the policy checks below would prove little.
    assert {
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DescribeTable",
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
    } <= api_actions()
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "sqs:ReceiveMessage"} <= worker_actions()
    assert "dynamodb:Query" not in worker_actions()
    assert "sqs:SendMessage" not in worker_actions()


def test_api_policy_is_exactly_what_the_api_calls(resources: dict[str, Any]) -> None:
    assert granted(resources["ApiPolicy"]["Properties"]) == api_actions()


def test_worker_policy_is_exactly_what_the_worker_calls(resources: dict[str, Any]) -> None:
    assert granted(resources["WorkerPolicy"]["Properties"]) == worker_actions()


def test_policies_cover_every_adapter_call_and_nothing_else(resources: dict[str, Any]) -> None:
    union = granted(resources["ApiPolicy"]["Properties"]) | granted(
        resources["WorkerPolicy"]["Properties"]
    )
    assert union == every_adapter_call() | LAMBDA_EVENT_SOURCE_ACTIONS


def test_data_policies_name_only_inboxqls_resources(resources: dict[str, Any]) -> None:
    index_names = [
        index["IndexName"]
        for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes")
        for index in TABLE_DEFINITION[kind]
    ]
    table = {"Fn::GetAtt": ["Table", "Arn"]}
    indexes = [{"Fn::Sub": f"${{Table.Arn}}/index/{name}"} for name in index_names]
    queue = {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    for name in ("ApiPolicy", "WorkerPolicy"):
        for statement in statements(resources[name]["Properties"]):
            actions = as_list(statement["Action"])
            targets = as_list(statement["Resource"])
            assert "*" not in json.dumps(statement), statement
            if all(a.startswith("sqs:") for a in actions):
                assert targets == [queue]
            elif actions == ["dynamodb:Query"]:
                assert targets == [table, *indexes]
            else:
                assert all(a.startswith("dynamodb:") for a in actions)
                assert targets == [table]


def test_function_role_adds_only_logs_and_vpc_access(resources: dict[str, Any]) -> None:
    role = resources["WorkerFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": "WorkerPolicy"}]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "lambda.amazonaws.com"}
    inline = [s for policy in role["Policies"] for s in statements(policy)]
    by_actions = {frozenset(as_list(s["Action"])): as_list(s["Resource"]) for s in inline}
    assert len(by_actions) == len(inline) == 2
    logs = by_actions[frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})]
    # The one wildcard on a named resource: the streams Lambda creates in the function's group.
    assert [r["Fn::Sub"] for r in logs] == [
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
        ":log-group:${WorkerLogGroup}:log-stream:*"
    ]
    # These EC2 actions accept no resource ARNs Lambda's ENIs would match; nothing else is "*".
    assert by_actions[frozenset(LAMBDA_VPC_ACTIONS)] == ["*"]


def test_no_action_anywhere_is_a_wildcard(resources: dict[str, Any]) -> None:
    for name, resource in resources.items():
        for match in re.findall(r'"Action": (\[[^\]]*\]|"[^"]*")', json.dumps(resource)):
            assert "*" not in match, (name, match)
