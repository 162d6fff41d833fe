"""The server side rendered from the profile: web.config and the ARM siteextensions resource."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.cli import vendorer

GOLDEN = Path(__file__).parent.parent / "golden"


def _settings(root: ET.Element) -> dict[str, str]:
    return {e.get("key", ""): e.get("value", "") for e in root.iterfind("appSettings/add")}


def test_fastcgi_web_config_follows_azures_example(tmp_path: Path) -> None:
    log = "D:\\home\\LogFiles\\wfastcgi.log"
    args = ["-p", "python361x64", "--wsgi-handler", "app.wsgi_app", "--wsgi-log", log]
    result = vendorer("webconfig", *args, "--app", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "web.config").read_text(encoding="utf-8")
    assert text == (GOLDEN / "webconfig-fastcgi.xml").read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert _settings(root) == {
        "PYTHONPATH": "D:\\home\\site\\wwwroot;D:\\home\\site\\wwwroot\\lib",
        "WSGI_HANDLER": "app.wsgi_app",
        "WSGI_LOG": "D:\\home\\LogFiles\\wfastcgi.log",
    }
    (handler,) = root.iterfind("system.webServer/handlers/add")
    assert handler.attrib == {
        "name": "PythonHandler", "path": "*", "verb": "*", "modules": "FastCgiModule",
        "scriptProcessor": "D:\\home\\python361x64\\python.exe|D:\\home\\python361x64\\wfastcgi.py",
        "resourceType": "Unspecified", "requireAccess": "Script",
    }  # fmt: skip


def test_httpplatform_web_config(tmp_path: Path) -> None:
    args = ["-p", "python361x64", "--handler", "httpplatform", "--entry", "runserver.py"]
    result = vendorer("webconfig", *args, "--processes", "16", "--app", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "web.config").read_text(encoding="utf-8")
    assert text == (GOLDEN / "webconfig-httpplatform.xml").read_text(encoding="utf-8")
    platform = ET.fromstring(text).find("system.webServer/httpPlatform")
    assert platform is not None
    assert platform.get("processPath") == "D:\\home\\python361x64\\python.exe"
    assert platform.get("arguments") == (
        "D:\\home\\site\\wwwroot\\runserver.py --port %HTTP_PLATFORM_PORT%"
    )
    variables = {e.get("name"): e.get("value") for e in platform.iter("environmentVariable")}
    assert variables["SERVER_PORT"] == "%HTTP_PLATFORM_PORT%"


USER_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <!-- my own settings -->
  <appSettings>
    <add key="FEATURE_FLAG" value="on" />
    <add key="PYTHONPATH" value="D:\\home\\site\\wwwroot" />
  </appSettings>
  <system.webServer>
    <rewrite>
      <rules>
        <rule name="Static" stopProcessing="true">
          <match url="^static/.*" ignoreCase="true" />
          <action type="Rewrite" url="{R:0}" />
        </rule>
      </rules>
    </rewrite>
    <handlers>
      <add name="StaticFile" path="*.css" verb="*" modules="StaticFileModule" resourceType="File" />
    </handlers>
  </system.webServer>
</configuration>
"""


def test_an_existing_web_config_keeps_everything_vendorer_does_not_own(tmp_path: Path) -> None:
    path = tmp_path / "web.config"
    path.write_text(USER_CONFIG, encoding="utf-8")
    args = ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.wsgi_app")
    assert vendorer(*args, "--app", str(tmp_path)).returncode == 0
    text = path.read_text(encoding="utf-8")
    assert "<!-- my own settings -->" in text
    root = ET.fromstring(text)
    assert root.find("system.webServer/rewrite/rules/rule[@name='Static']") is not None
    handlers = [e.get("name") for e in root.iterfind("system.webServer/handlers/add")]
    assert handlers == ["StaticFile", "PythonHandler"]
    settings = _settings(root)
    assert settings["FEATURE_FLAG"] == "on"
    assert settings["PYTHONPATH"] == "D:\\home\\site\\wwwroot;D:\\home\\site\\wwwroot\\lib"
    assert vendorer(*args, "--check", "--app", str(tmp_path)).returncode == 0
    stale = vendorer(*args, "--lib-dir", "vendor", "--check", "--app", str(tmp_path))
    assert stale.returncode == 1 and "out of date" in stale.stderr
    again = vendorer("webconfig", "-p", "python361x64", "--app", str(tmp_path))
    assert again.returncode == 0, again.stderr  # the WSGI_HANDLER already there is kept
    assert _settings(ET.fromstring(path.read_text(encoding="utf-8")))["WSGI_HANDLER"] == (
        "app.wsgi_app"
    )


def test_fastcgi_without_a_wsgi_handler_asks_for_one(tmp_path: Path) -> None:
    result = vendorer("webconfig", "-p", "python361x64", "--app", str(tmp_path))
    assert result.returncode == 2
    assert "FastCGI needs the WSGI app: pass --wsgi-handler MODULE.ATTR" in result.stderr
    assert not (tmp_path / "web.config").exists()


def test_values_are_escaped_and_bad_handlers_refused(tmp_path: Path) -> None:
    args = ["-p", "python361x64", "--handler", "httpplatform", "--entry", "run.py"]
    result = vendorer("webconfig", *args, "--env", 'GREETING=a "b" & <c>', "--app", str(tmp_path))
    assert result.returncode == 0, result.stderr
    root = ET.fromstring((tmp_path / "web.config").read_text(encoding="utf-8"))
    variable = root.find(".//environmentVariable[@name='GREETING']")
    assert variable is not None and variable.get("value") == 'a "b" & <c>'
    (tmp_path / "other").mkdir()  # an --app that does not exist is refused before anything
    bad = vendorer("webconfig", "-p", "python361x64", "--wsgi-handler", "app;rm -rf /",
                   "--app", str(tmp_path / "other"))  # fmt: skip
    assert bad.returncode == 2 and "is not module.attribute or module.function()" in bad.stderr
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "web.config").write_text("<configuration><oops></configuration>")
    broken = vendorer("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app",
                      "--app", str(tmp_path / "broken"))  # fmt: skip
    assert broken.returncode == 2 and "web.config:1:" in broken.stderr


def test_linux_profiles_get_the_startup_settings_instead(tmp_path: Path) -> None:
    result = vendorer("webconfig", "-p", "linux-python312", "--wsgi-handler", "app.wsgi_app",
                      "--app", str(tmp_path))  # fmt: skip
    assert result.returncode == 0
    assert "web.config does not apply there" in result.stdout
    assert "none: __oryx_packages__ is on sys.path by itself" in result.stdout
    custom = vendorer("webconfig", "-p", "linux-python312", "--lib-dir", "vendor",
                      "--app", str(tmp_path))  # fmt: skip
    assert "PYTHONPATH=/home/site/wwwroot/vendor" in custom.stdout
    assert 'gunicorn --bind=0.0.0.0 --timeout 600 "app:wsgi_app"' in result.stdout
    assert not (tmp_path / "web.config").exists()


TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"appName": {"type": "string"}},
    "resources": [
        {"type": "Microsoft.Web/serverfarms", "name": "plan", "apiVersion": "2022-03-01"},
        {
            "type": "Microsoft.Web/sites",
            "name": "[parameters('appName')]",
            "apiVersion": "2022-03-01",
            "resources": [
                {"type": "config", "name": "web", "properties": {"pythonVersion": ""}},
                {"type": "siteextensions", "name": "python353x64", "apiVersion": "2015-08-01"},
            ],
        },
    ],
}


def test_arm_resource_and_template_update(tmp_path: Path) -> None:
    printed = vendorer("arm", "-p", "python364x64")
    assert printed.returncode == 0
    assert json.loads(printed.stdout) == {
        "apiVersion": "2015-08-01",
        "name": "azureappservice-python364x64",
        "type": "siteextensions",
        "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('siteName'))]"],
        "properties": {},
    }
    template = tmp_path / "azuredeploy.json"
    template.write_text(json.dumps(TEMPLATE, indent=4), encoding="utf-8")
    args = ("arm", "-p", "python361x64", "--template", str(template), "--site-param", "appName")
    assert vendorer(*args).returncode == 0
    assert vendorer(*args).returncode == 0  # twice: updated, not duplicated
    data = json.loads(template.read_text(encoding="utf-8"))
    site = data["resources"][1]
    assert data["resources"][0] == TEMPLATE["resources"][0]  # type: ignore[index]
    assert site["resources"][0] == {"type": "config", "name": "web",
                                    "properties": {"pythonVersion": ""}}  # fmt: skip
    extensions = [r for r in site["resources"] if r["type"] == "siteextensions"]
    assert extensions == [{
        "type": "siteextensions", "name": "python361x64", "apiVersion": "2015-08-01",
        "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('appName'))]"],
        "properties": {},
    }]  # fmt: skip
    wrong = vendorer("arm", "-p", "python361x64", "--template", str(template))
    assert wrong.returncode == 2 and "pass the --site-param" in wrong.stderr
    linux = vendorer("arm", "-p", "linux-python312")  # since issue 12: the Linux site, rendered
    assert linux.returncode == 0 and json.loads(linux.stdout)["resources"][1]["kind"] == "app,linux"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{"resources": 5}', "not an ARM template (no list of resources)"),
        ("[1]", "not an ARM template (no list of resources)"),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "[parameters(\'siteName\')]",'
            ' "resources": {}}]}',
            "the site's resources are not a list",
        ),
    ],
)
def test_a_template_of_the_wrong_shape_is_refused_unchanged(
    tmp_path: Path, template: str, message: str
) -> None:
    path = tmp_path / "azuredeploy.json"
    path.write_text(template, encoding="utf-8")
    result = vendorer("arm", "-p", "python361x64", "--template", str(path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert path.read_text(encoding="utf-8") == template


def test_a_utf16_web_config_and_a_bom_arm_template_are_read(tmp_path: Path) -> None:
    config = tmp_path / "web.config"
    config.write_bytes(
        '<?xml version="1.0" encoding="utf-16"?>\n<configuration><appSettings>'
        '<add key="GREETING" value="héllo" /></appSettings></configuration>'.encode("utf-16")
    )
    result = vendorer("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app",
                      "--app", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = _settings(ET.fromstring(config.read_bytes()))
    assert settings["GREETING"] == "héllo" and settings["WSGI_HANDLER"] == "app.app"
    template = tmp_path / "azuredeploy.json"
    template.write_bytes(b"\xef\xbb\xbf" + json.dumps(TEMPLATE).encode())
    arm = vendorer("arm", "-p", "python361x64", "--template", str(template), "--site-param",
                   "appName")  # fmt: skip
    assert arm.returncode == 0, arm.stderr
    assert "siteextensions" in template.read_text(encoding="utf-8")


WEBCONFIG = ("webconfig", "-p", "python361x64", "--wsgi-handler", "app.app")


def test_a_linked_web_config_is_updated_through_its_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared.config"
    shared.write_text(USER_CONFIG, encoding="utf-8")
    (tmp_path / "web.config").symlink_to(shared)
    result = vendorer(*WEBCONFIG, "--app", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "web.config").is_symlink()  # the link stays; its target is updated
    assert _settings(ET.fromstring(shared.read_bytes()))["FEATURE_FLAG"] == "on"
    assert _settings(ET.fromstring(shared.read_bytes()))["WSGI_HANDLER"] == "app.app"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("dangling", "a symbolic link to {app}/gone.config, which does not exist"),
        (b'<?xml version="1.0" encoding="x-nonsense"?><configuration/>',
         "web.config: unknown encoding: x-nonsense; save it as UTF-8"),
        (b"<configuration>" + b"<a>" * 150 + b"</a>" * 150 + b"</configuration>",
         "web.config: elements nested more than 100 deep; not a web.config vendorer can update"),
        (b"<configuration>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</configuration>",
         "web.config: elements nested more than 100 deep"),
    ],
)  # fmt: skip
def test_a_web_config_vendorer_cannot_update_is_refused_unchanged(
    tmp_path: Path, content: bytes | str, message: str
) -> None:
    path = tmp_path / "web.config"
    if content == "dangling":
        path.symlink_to(tmp_path / "gone.config")
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    result = vendorer(*WEBCONFIG, "--app", str(tmp_path))
    assert result.returncode == 2
    assert message.format(app=tmp_path) in result.stderr and "Traceback" not in result.stderr
    if content == "dangling":
        assert path.is_symlink() and not path.exists()
    else:
        assert path.read_bytes() == content


def test_an_environment_variable_named_with_a_quote_is_set_once(tmp_path: Path) -> None:
    """Its name went into an XPath predicate: `A'B` was a SyntaxError traceback."""
    args = ["-p", "python361x64", "--handler", "httpplatform", "--entry", "run.py"]
    for value in ("1", "2"):
        result = vendorer("webconfig", *args, "--env", f"A'B={value}", "--app", str(tmp_path))
        assert result.returncode == 0, result.stderr
    root = ET.parse(tmp_path / "web.config").getroot()
    variables = [(e.get("name"), e.get("value")) for e in root.iter("environmentVariable")]
    assert variables.count(("A'B", "2")) == 1 and ("A'B", "1") not in variables


def test_a_linked_arm_template_is_updated_through_its_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared.json"
    shared.write_text(json.dumps(TEMPLATE), encoding="utf-8")
    link = tmp_path / "azuredeploy.json"
    link.symlink_to(shared)
    result = vendorer("arm", "-p", "python361x64", "--template", str(link), "--site-param",
                      "appName")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and "python361x64" in shared.read_text(encoding="utf-8")


def test_a_utf16_arm_template_is_read(tmp_path: Path) -> None:
    """PowerShell 5's `>` and Out-File write UTF-16 with a byte-order mark."""
    template = tmp_path / "azuredeploy.json"
    template.write_bytes(json.dumps(TEMPLATE).encode("utf-16"))
    result = vendorer("arm", "-p", "python361x64", "--template", str(template), "--site-param",
                      "appName")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "python361x64" in template.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "cannot be read: nested too deeply"),
        ('{"resources": [], "x": ' + "9" * 5000 + "}", "cannot be read: Exceeds the limit"),
        ('{"resources": [], "x": NaN}', "cannot be read: NaN is not JSON"),
    ],
)  # fmt: skip
def test_a_template_too_deep_or_too_large_is_refused_unchanged(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "azuredeploy.json"
    path.write_text(text, encoding="utf-8")
    result = vendorer("arm", "-p", "python361x64", "--template", str(path))
    assert result.returncode == 2
    assert f"{path}: {message}" in result.stderr and "Traceback" not in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_a_template_read_but_too_deep_to_write_is_refused_unchanged(tmp_path: Path) -> None:
    """Python 3.12 reads JSON 1,200 levels deep, and cannot write it back; 3.11 cannot read it,
    3.13 does both."""
    site = {"type": "Microsoft.Web/sites", "name": "[parameters('siteName')]"}
    text = json.dumps({"resources": [site]})[:-1] + ', "x": ' + "[" * 1200 + "]" * 1200 + "}"
    path = tmp_path / "azuredeploy.json"
    path.write_text(text, encoding="utf-8")
    result = vendorer("arm", "-p", "python361x64", "--template", str(path))
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        assert "siteextensions" in path.read_text(encoding="utf-8")
        return
    assert result.returncode == 2 and path.read_text(encoding="utf-8") == text
    assert "cannot be read: nested too deeply" in result.stderr or (
        "cannot be rewritten: nested too deeply" in result.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--startup-time-limit", "-5"), "--startup-time-limit -5: HttpPlatform takes 0 to 3600"),
        (("--startup-time-limit", "3601"), "--startup-time-limit 3601: HttpPlatform takes 0 to"),
        (("--processes", "0"), "--processes 0: HttpPlatform takes 1 to 100"),
        (("--processes", "101"), "--processes 101: HttpPlatform takes 1 to 100"),
    ],
)
def test_httpplatform_numbers_iis_does_not_take_are_refused(
    tmp_path: Path, args: tuple[str, str], message: str
) -> None:
    """Before, they were written into web.config without a word."""
    base = ["-p", "python361x64", "--handler", "httpplatform", "--entry", "run.py"]
    result = vendorer("webconfig", *base, *args, "--app", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "web.config").exists()


def test_a_site_parameter_that_would_break_the_expression_is_refused() -> None:
    result = vendorer("arm", "-p", "python361x64", "--site-param", "site')), x('")
    assert result.returncode == 2 and result.stdout == ""
    assert "--site-param \"site')), x('\" is not a template parameter name" in result.stderr
