"""`vendorer arm` for the Linux targets (issue 12, "The infrastructure, rendered"): the site and its
plan as an ARM template and as Bicep, each against a golden file and checked for its structure
(every parameter it uses is declared, every dependency is a resource of the template; the Bicep
text keeps to the grammar Microsoft's Bicep reference gives: no compiler runs here), and
`--template` updating an existing template while keeping everything else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import vendorer

GOLDEN = Path(__file__).parent.parent / "golden"
FLEX_REFUSED = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
                "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD"}  # fmt: skip


def _arm(app: Path, *args: str) -> str:
    app.mkdir(parents=True, exist_ok=True)
    result = vendorer("arm", *args, "--app", str(app))
    assert result.returncode == 0, result.stderr
    return result.stdout


def _settings(site: dict[str, Any]) -> dict[str, Any]:
    entries = site["properties"]["siteConfig"]["appSettings"]
    return {entry["name"]: entry["value"] for entry in entries}


# --- ARM JSON -----------------------------------------------------------------------------------


def _check_arm_structure(template: dict[str, Any]) -> None:
    declared = set(template["parameters"])
    text = json.dumps(template)
    used = set(re.findall(r"parameters\('([^']+)'\)", text))
    assert used <= declared, used - declared
    ids = {f"[resourceId('{r['type']}', {_expression(r['name'])})]" for r in template["resources"]}
    for resource in template["resources"]:
        assert set(resource.get("dependsOn", [])) <= ids
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource["apiVersion"])


def _expression(value: str) -> str:
    return value[1:-1] if value.startswith("[") else f"'{value}'"


def test_app_service_on_linux_as_an_arm_template(tmp_path: Path) -> None:
    text = _arm(tmp_path / "app", "-p", "linux-python312", "--wsgi-handler", "hello.app")
    assert text == (GOLDEN / "arm-linux-python312.json").read_text(encoding="utf-8")
    template = json.loads(text)
    _check_arm_structure(template)
    plan, site = template["resources"]
    assert plan["type"] == "Microsoft.Web/serverfarms" and plan["properties"]["reserved"] is True
    assert site["type"] == "Microsoft.Web/sites" and site["kind"] == "app,linux"
    config = site["properties"]["siteConfig"]
    assert config["linuxFxVersion"] == "PYTHON|3.12"
    assert config["appCommandLine"] == 'gunicorn --bind=0.0.0.0 --timeout 600 "hello:app"'
    assert _settings(site) == {
        "SCM_DO_BUILD_DURING_DEPLOYMENT": "false",
        "ENABLE_ORYX_BUILD": "false",
    }


def test_no_startup_command_where_oryx_finds_the_app(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "application.py").write_text("app = None\n")
    site = json.loads(_arm(app, "-p", "linux-python313"))["resources"][1]
    assert "appCommandLine" not in site["properties"]["siteConfig"]
    assert site["properties"]["siteConfig"]["linuxFxVersion"] == "PYTHON|3.13"


def test_a_lib_folder_oryx_does_not_load_gets_its_pythonpath_setting(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text('[tool.vendorer]\nlib-dir = "vendor"\n')
    site = json.loads(_arm(app, "-p", "linux-python312"))["resources"][1]
    assert _settings(site)["PYTHONPATH"] == "/home/site/wwwroot/vendor"


def test_functions_on_flex_consumption(tmp_path: Path) -> None:
    text = _arm(tmp_path / "app", "-p", "functions-python311")
    assert text == (GOLDEN / "arm-functions-flex.json").read_text(encoding="utf-8")
    template = json.loads(text)
    _check_arm_structure(template)
    plan, site = template["resources"]
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert site["kind"] == "functionapp,linux" and site["identity"] == {"type": "SystemAssigned"}
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "[parameters('deploymentStorageContainerUrl')]"
    assert storage["authentication"] == {"type": "SystemAssignedIdentity"}
    assert "linuxFxVersion" not in site["properties"]["siteConfig"]
    assert not FLEX_REFUSED & set(_settings(site))


@pytest.mark.parametrize(
    ("plan", "sku"),
    [
        ("functions-dedicated", {"name": "[parameters('planSku')]"}),
        ("functions-premium", {"name": "[parameters('planSku')]", "tier": "ElasticPremium"}),
        ("functions-consumption", {"name": "Y1", "tier": "Dynamic"}),
    ],
)
def test_functions_on_the_other_plans(tmp_path: Path, plan: str, sku: dict[str, str]) -> None:
    template = json.loads(_arm(tmp_path / "app", "-p", "functions-python312", "--plan", plan))
    _check_arm_structure(template)
    plan_resource, site = template["resources"]
    assert plan_resource["sku"] == sku
    assert site["properties"]["siteConfig"]["linuxFxVersion"] == "Python|3.12"
    assert _settings(site) == {
        "FUNCTIONS_EXTENSION_VERSION": "~4",
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "SCM_DO_BUILD_DURING_DEPLOYMENT": "false",
        "ENABLE_ORYX_BUILD": "false",
        "AzureWebJobsStorage__accountName": "[parameters('storageAccountName')]",
    }
    assert "functionAppConfig" not in site["properties"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "linux-python312", "--plan", "functions-flex"), "--plan functions-flex does not"),
        (("-p", "functions-python311", "--plan", "app-service-linux"), "use functions-flex,"),
        (("-p", "python361x64", "--plan", "functions-flex"), "--plan is for Linux profiles"),
        (("-p", "linux-python312", "--format", "bicep", "--template", "t.json"), "for Bicep"),
        (("-p", "linux-python312", "--site-param", "a'b"), "is not a template parameter name"),
        (("-p", "linux-python312", "--wsgi-handler", "x;y"), "is not module.attribute"),
    ],
)
def test_what_arm_refuses(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = vendorer("arm", *args, "--app", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- Bicep --------------------------------------------------------------------------------------

_STRING = r"'(?:[^'\\]|\\[\\'nrt$])*'"
_VALUE = re.compile(rf"{_STRING}|-?\d+|true|false|[A-Za-z_]\w*(\.id|\(\)\.location)?")
_LINE = {
    "comment": re.compile(r"//.*"),
    "decorator": re.compile(rf"@description\({_STRING}\)"),
    "param": re.compile(r"param ([A-Za-z_]\w*) (string|int)(?: = (.+))?"),
    "resource": re.compile(
        r"resource ([A-Za-z_]\w*) '[\w.]+/[\w./]+@\d{4}-\d{2}-\d{2}'( existing)? = \{"
    ),
    "property": re.compile(r"([A-Za-z_]\w*|" + _STRING + r"): (.+)"),
    "close": re.compile(r"[}\]]"),
}


def _check_bicep(text: str) -> None:
    """The Bicep text keeps to the grammar its generator is meant to write: each line a comment,
    a decorator, a parameter, a resource, a property, an array item or a closing brace; braces
    balanced and nested as opened; every name a value uses declared before (parameters) or in the
    file (resources)."""
    declared: set[str] = {"resourceGroup"}
    symbols = set(re.findall(r"^resource ([A-Za-z_]\w*) ", text, re.MULTILINE))
    stack: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if (
            not stripped
            or _LINE["comment"].fullmatch(stripped)
            or _LINE["decorator"].fullmatch(stripped)
        ):
            continue
        assert indent == 2 * len(stack) - (1 if _LINE["close"].fullmatch(stripped) else 0) * 2, line
        if found := _LINE["param"].fullmatch(stripped):
            if found.group(3):
                _check_value(found.group(3), declared)
            declared.add(found.group(1))
            continue
        if _LINE["resource"].fullmatch(stripped):
            stack.append("}")
            continue
        if _LINE["close"].fullmatch(stripped):
            assert stack and stack.pop() == stripped, line
            continue
        value = found.group(2) if (found := _LINE["property"].fullmatch(stripped)) else stripped
        if value in ("{", "["):
            stack.append("}" if value == "{" else "]")
        else:
            _check_value(value, declared | symbols)
    assert stack == []


def _check_value(value: str, names: set[str]) -> None:
    assert _VALUE.fullmatch(value), value
    if value[0].isalpha() and value not in ("true", "false"):
        assert value.split(".", maxsplit=1)[0].split("(", maxsplit=1)[0] in names, value
    for inner in re.findall(r"\$\{([^}]*)\}", value if value.startswith("'") else ""):
        assert inner in names, inner


@pytest.mark.parametrize(
    ("golden", "args"),
    [
        ("arm-linux-python312.bicep", ("-p", "linux-python312", "--wsgi-handler", "hello.app")),
        ("arm-functions-flex.bicep", ("-p", "functions-python311")),
        (
            "arm-functions-dedicated.bicep",
            ("-p", "functions-python312", "--plan", "functions-dedicated"),
        ),
        ("arm-python361x64.bicep", ("-p", "python361x64")),
    ],
)
def test_bicep_files(tmp_path: Path, golden: str, args: tuple[str, ...]) -> None:
    text = _arm(tmp_path / "app", *args, "--format", "bicep")
    assert text == (GOLDEN / golden).read_text(encoding="utf-8")
    _check_bicep(text)


def test_the_bicep_file_says_what_the_arm_template_says(tmp_path: Path) -> None:
    args = ("-p", "functions-python312", "--plan", "functions-dedicated")
    template = json.loads(_arm(tmp_path / "app", *args))
    bicep = _arm(tmp_path / "app", *args, "--format", "bicep")
    for name in template["parameters"]:
        assert re.search(rf"^param {name} ", bicep, re.MULTILINE)
    for key, value in _settings(template["resources"][1]).items():
        shown = "storageAccountName" if value.startswith("[") else f"'{value}'"
        assert f"name: '{key}'\n          value: {shown}\n" in bicep
    assert "linuxFxVersion: 'Python|3.12'" in bicep and "serverFarmId: plan.id" in bicep


def test_the_bicep_checker_catches_what_it_should() -> None:
    good = (GOLDEN / "arm-linux-python312.bicep").read_text(encoding="utf-8")
    for broken in (
        good.replace("name: siteName", "name: sitename"),  # undeclared
        good.replace("'PYTHON|3.12'", "'PYTHON|3.12"),  # an open string
        good.replace("reserved: true\n  }", "reserved: true\n  ]"),  # mismatched
        good.replace("      linuxFxVersion", "     linuxFxVersion"),  # off its nesting
        good.replace("kind: 'app,linux'", "kind: 'app,linux',"),  # a comma Bicep refuses
    ):
        with pytest.raises(AssertionError):
            _check_bicep(broken)


# --- --template ---------------------------------------------------------------------------------

EXISTING: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"appName": {"type": "string"}, "planName": {"type": "string"}},
    "resources": [
        {
            "type": "Microsoft.Web/serverfarms",
            "apiVersion": "2022-03-01",
            "name": "[parameters('planName')]",
            "sku": {"name": "P1v3"},
        },
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-03-01",
            "name": "[parameters('appName')]",
            "kind": "app",
            "tags": {"team": "web"},
            "properties": {
                "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', parameters('planName'))]",
                "siteConfig": {
                    "alwaysOn": True,
                    "appSettings": [
                        {"name": "DATABASE_URL", "value": "[parameters('db')]"},
                        {"name": "SCM_DO_BUILD_DURING_DEPLOYMENT", "value": "true"},
                        {"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"},
                    ],
                },
            },
        },
    ],
}


def test_template_update_for_app_service_on_linux(tmp_path: Path) -> None:
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(EXISTING, indent=4), encoding="utf-8")
    args = ("-p", "linux-python312", "--template", str(path), "--site-param", "appName",
            "--wsgi-handler", "hello.app")  # fmt: skip
    for _ in range(2):  # twice: updated, not duplicated
        result = vendorer("arm", *args, "--app", str(tmp_path))
        assert result.returncode == 0 and f"updated {path}" in result.stderr, result.stderr
    updated = json.loads(path.read_text(encoding="utf-8"))
    plan, site = updated["resources"]
    assert plan == {**EXISTING["resources"][0], "properties": {"reserved": True}}
    assert site["kind"] == "app,linux" and site["tags"] == {"team": "web"}
    assert site["apiVersion"] == "2022-03-01"
    config = site["properties"]["siteConfig"]
    assert config["alwaysOn"] is True and config["linuxFxVersion"] == "PYTHON|3.12"
    assert config["appCommandLine"] == 'gunicorn --bind=0.0.0.0 --timeout 600 "hello:app"'
    assert config["appSettings"] == [
        {"name": "DATABASE_URL", "value": "[parameters('db')]"},
        {"name": "SCM_DO_BUILD_DURING_DEPLOYMENT", "value": "false"},
        {"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"},
        {"name": "ENABLE_ORYX_BUILD", "value": "false"},
    ]
    assert updated["parameters"] == EXISTING["parameters"]


def test_template_update_for_flex_consumption(tmp_path: Path) -> None:
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(EXISTING), encoding="utf-8")
    args = ("-p", "functions-python312", "--template", str(path), "--site-param", "appName")
    result = vendorer("arm", *args, "--app", str(tmp_path))
    assert result.returncode == 0, result.stderr
    site = json.loads(path.read_text(encoding="utf-8"))["resources"][1]
    assert site["apiVersion"] == "2024-04-01"  # functionAppConfig needs 2023-12-01 or later
    assert site["kind"] == "functionapp,linux" and site["identity"] == {"type": "SystemAssigned"}
    assert _settings(site) == {"DATABASE_URL": "[parameters('db')]"}  # what Flex refuses goes
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.12"}
    assert (
        config["deployment"]["storage"]["value"] == "[parameters('deploymentStorageContainerUrl')]"
    )
    assert json.loads(path.read_text())["parameters"]["deploymentStorageContainerUrl"] == {
        "type": "string"
    }


def test_template_update_keeps_the_users_flex_storage(tmp_path: Path) -> None:
    existing = json.loads(json.dumps(EXISTING))
    storage = {"storage": {"type": "blobContainer", "value": "[variables('container')]"}}
    existing["resources"][1]["properties"]["functionAppConfig"] = {
        "deployment": storage,
        "runtime": {"name": "python", "version": "3.10"},
        "scaleAndConcurrency": {"maximumInstanceCount": 40, "instanceMemoryMB": 4096},
    }
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(existing), encoding="utf-8")
    args = ("-p", "functions-python311", "--template", str(path), "--site-param", "appName")
    assert vendorer("arm", *args, "--app", str(tmp_path)).returncode == 0
    config = json.loads(path.read_text())["resources"][1]["properties"]["functionAppConfig"]
    assert config == {**existing["resources"][1]["properties"]["functionAppConfig"],
                      "runtime": {"name": "python", "version": "3.11"}}  # fmt: skip
