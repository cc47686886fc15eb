"""The template's tracing parameters against the code: the API tasks and the worker function
take the same switch, its values are the setting's, and by default tracing is off."""

from __future__ import annotations

from typing import Any

import pytest

from services.settings import Settings
from services.settings.tracing_rows import TRACES_EXPORTERS


def task_environment(template: dict[str, Any]) -> dict[str, Any]:
    (container,) = template["Resources"]["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"]
    return {item["Name"]: item["Value"] for item in container["Environment"]}


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = template["Resources"]["WorkerFunction"]["Properties"][
        "Environment"
    ]["Variables"]
    return variables


def test_the_exporter_parameter_takes_the_setting_s_values_and_is_off_by_default(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["TracesExporter"]
    assert tuple(parameter["AllowedValues"]) == TRACES_EXPORTERS
    for value in parameter["AllowedValues"]:
        Settings.from_env({"OTEL_TRACES_EXPORTER": value})
    assert not Settings.from_env({"OTEL_TRACES_EXPORTER": parameter["Default"]}).tracing


@pytest.mark.parametrize("environment", [task_environment, function_environment])
def test_the_api_and_the_worker_take_the_same_tracing_parameters(
    template: dict[str, Any], environment: Any
) -> None:
    variables = environment(template)
    assert variables["OTEL_TRACES_EXPORTER"] == {"Ref": "TracesExporter"}
    assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == {"Ref": "OtlpEndpoint"}
    assert variables["OTEL_SERVICE_NAME"].startswith("inboxql-")
