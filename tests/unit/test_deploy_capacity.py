"""DynamoDB's capacity mode and table class in deploy/inboxql.yaml: on-demand is the table as it
always was; provisioned adds throughput and target-tracking auto-scaling to the table and to
every global index the code queries (the local one shares the table's), all behind one
condition; and the parameters' defaults are the cost model's."""

from __future__ import annotations

from typing import Any

from services.cost.assumptions import CAPACITY_MODES, TABLE_CLASSES, Assumptions
from services.cost.capacity_mode import AutoScaling
from services.dynamodb import keys
from services.dynamodb.provisioning import TABLE_DEFINITION
from tests.unit.test_deploy_template import under_condition

CONDITION = "ProvisionedCapacity"
TABLE_RESOURCE = "table/${Table}"
READ_WRITE = ("Read", "Write")


def indexes_the_code_uses() -> set[str]:
    """The index names services/dynamodb/keys.py gives the queries."""
    return {
        value
        for name, value in vars(keys).items()
        if name.endswith("_INDEX") and isinstance(value, str)
    }


def defined(kind: str) -> set[str]:
    return {index["IndexName"] for index in TABLE_DEFINITION.get(kind, [])}


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def dynamodb_targets(resources: dict[str, Any]) -> dict[str, Any]:
    targets = of_type(resources, "AWS::ApplicationAutoScaling::ScalableTarget")
    return {
        name: target
        for name, target in targets.items()
        if target["Properties"]["ServiceNamespace"] == "dynamodb"
    }


def default(template: dict[str, Any], parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


def test_the_code_queries_every_index_the_table_defines() -> None:
    used = indexes_the_code_uses()
    assert used == {"unread", "conversation", "activity"}
    assert used == defined("LocalSecondaryIndexes") | defined("GlobalSecondaryIndexes")


def test_the_condition_is_the_capacity_mode_parameter(template: dict[str, Any]) -> None:
    assert template["Conditions"][CONDITION] == {
        "Fn::Equals": [{"Ref": "CapacityMode"}, "provisioned"]
    }
    mode = template["Parameters"]["CapacityMode"]
    assert (mode["Default"], tuple(mode["AllowedValues"])) == ("on-demand", CAPACITY_MODES)
    table_class = template["Parameters"]["TableClass"]
    assert (table_class["Default"], tuple(table_class["AllowedValues"])) == (
        "STANDARD",
        TABLE_CLASSES,
    )


def test_on_demand_has_no_throughput_anywhere(resources: dict[str, Any]) -> None:
    table = under_condition(resources["Table"]["Properties"], {CONDITION: False})
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table
    for index in table["GlobalSecondaryIndexes"]:
        assert "ProvisionedThroughput" not in index, index["IndexName"]


def test_provisioned_sets_throughput_on_the_table_and_each_global_index(
    resources: dict[str, Any],
) -> None:
    table = under_condition(resources["Table"]["Properties"], {CONDITION: True})
    minimum = {
        "ReadCapacityUnits": {"Ref": "ReadCapacityMin"},
        "WriteCapacityUnits": {"Ref": "WriteCapacityMin"},
    }
    assert table["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"] == minimum
    with_throughput = {
        index["IndexName"]
        for index in table["GlobalSecondaryIndexes"]
        if index.get("ProvisionedThroughput") == minimum
    }
    assert with_throughput == defined("GlobalSecondaryIndexes")
    # A local index has no throughput of its own: CloudFormation refuses one.
    assert all("ProvisionedThroughput" not in i for i in table["LocalSecondaryIndexes"])


def test_every_scaled_resource_is_the_table_or_a_global_index_read_and_write(
    resources: dict[str, Any],
) -> None:
    expected = {(TABLE_RESOURCE, "table", rw) for rw in READ_WRITE} | {
        (f"{TABLE_RESOURCE}/index/{name}", "index", rw)
        for name in defined("GlobalSecondaryIndexes")
        for rw in READ_WRITE
    }
    found = set()
    for name, target in dynamodb_targets(resources).items():
        properties = target["Properties"]
        _, kind, dimension = properties["ScalableDimension"].split(":")
        rw = dimension.removesuffix("CapacityUnits")
        found.add((properties["ResourceId"]["Fn::Sub"], kind, rw))
        assert properties["MinCapacity"] == {"Ref": f"{rw}CapacityMin"}, name
        assert properties["MaxCapacity"] == {"Ref": f"{rw}CapacityMax"}, name
    assert found == expected
    # Nothing scales the local index: it consumes the table's capacity.
    for name in defined("LocalSecondaryIndexes"):
        assert not any(name in resource_id for resource_id, _, _ in found)


def test_each_target_has_one_target_tracking_policy_on_its_own_metric(
    resources: dict[str, Any],
) -> None:
    policies = of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy")
    for name, target in dynamodb_targets(resources).items():
        tracking = [
            p["Properties"]
            for p in policies.values()
            if p["Properties"]["ScalingTargetId"] == {"Ref": name}
        ]
        assert len(tracking) == 1, name
        rw = target["Properties"]["ScalableDimension"].split(":")[2].removesuffix("CapacityUnits")
        assert tracking[0]["PolicyType"] == "TargetTrackingScaling"
        configuration = tracking[0]["TargetTrackingScalingPolicyConfiguration"]
        assert configuration["PredefinedMetricSpecification"] == {
            "PredefinedMetricType": f"DynamoDB{rw}CapacityUtilization"
        }
        assert configuration["TargetValue"] == {"Ref": "CapacityTargetUtilisation"}


def test_every_scaling_resource_exists_only_when_provisioned(resources: dict[str, Any]) -> None:
    targets = dynamodb_targets(resources)
    policies = {
        name: policy
        for name, policy in of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if policy["Properties"]["ScalingTargetId"]["Ref"] in targets
    }
    assert len(targets) == len(policies) == 2 * (1 + len(defined("GlobalSecondaryIndexes")))
    for name, resource in {**targets, **policies}.items():
        assert resource.get("Condition") == CONDITION, name
    # The API's ECS scaling stays unconditional.
    assert "Condition" not in resources["ApiScalableTarget"]


def test_the_parameters_defaults_are_the_cost_models(template: dict[str, Any]) -> None:
    scaling, deployed = AutoScaling(), Assumptions()
    assert default(template, "CapacityMode") == deployed.dynamodb_capacity_mode
    assert default(template, "TableClass") == deployed.dynamodb_table_class
    assert int(default(template, "CapacityTargetUtilisation")) == round(
        scaling.target_utilisation * 100
    )
    assert int(default(template, "ReadCapacityMin")) == scaling.min_read_units
    assert int(default(template, "WriteCapacityMin")) == scaling.min_write_units
    assert scaling.scaled_resources == 1 + len(defined("GlobalSecondaryIndexes"))
    for rw in READ_WRITE:
        low = int(default(template, f"{rw}CapacityMin"))
        assert low <= int(default(template, f"{rw}CapacityMax"))


def test_the_scaling_resources_are_created_one_after_another(resources: dict[str, Any]) -> None:
    # Each policy creates CloudWatch alarms; created all at once they can be throttled. One
    # chain: every target but the first waits for another target's policy, and no two wait
    # for the same one.
    targets = dynamodb_targets(resources)
    policy_of = {
        policy["Properties"]["ScalingTargetId"]["Ref"]: name
        for name, policy in of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
    }
    waits = {name: target.get("DependsOn") for name, target in targets.items()}
    first = [name for name, after in waits.items() if after is None]
    assert len(first) == 1
    awaited = [after for after in waits.values() if after is not None]
    assert len(set(awaited)) == len(awaited) == len(targets) - 1
    assert set(awaited) <= {policy_of[name] for name in targets}
    # Walking the chain from the first target reaches them all.
    reached, current = [first[0]], first[0]
    while following := [n for n, after in waits.items() if after == policy_of[current]]:
        current = following[0]
        reached.append(current)
    assert sorted(reached) == sorted(targets)
