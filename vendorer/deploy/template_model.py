"""A deployment template as data, rendered two ways: an ARM template (JSON) and a Bicep file.

Only what vendorer's templates use: parameters (string or int, with a default value or
expression), resources whose values are literals, objects, arrays and a few expressions (a
parameter, another resource's id, a function call the two languages spell alike, text with
expressions in it). The syntax follows Microsoft's references: ARM template expressions in
`[...]`, a literal string that starts with `[` written `[[`, `dependsOn` for a resource another
one names (ARM "Template syntax", "Define the order for deploying resources"); Bicep's
`param NAME TYPE = DEFAULT`, `resource SYMBOL 'TYPE@API' = {...}`, one property or array item per
line, single-quoted strings with `\\\\`, `\\'`, `\\n`, `\\r`, `\\t` and `\\${` escaped and `${...}`
interpolation, `SYMBOL.id` for another resource's id, dependencies implied by those references
(Bicep "File structure", "Data types", "Resource declaration").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

__all__ = [
    "SCHEMA",
    "Call",
    "IdOf",
    "Param",
    "Parameter",
    "Resource",
    "Template",
    "Text",
    "Value",
    "arm_json",
    "arm_value",
    "to_arm",
    "to_bicep",
]

SCHEMA: Final = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BICEP_ESCAPES: Final = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True, slots=True)
class Param:
    """The value of a template parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call both languages spell alike: `resourceGroup().location`."""

    text: str


@dataclass(frozen=True, slots=True)
class IdOf:
    """The resource id of another resource of the template, named by its symbol."""

    symbol: str


@dataclass(frozen=True, slots=True)
class Text:
    """Text with expressions in it: `https://${account}.blob.core.windows.net`."""

    parts: tuple[str | Param | Call, ...]


Expression: TypeAlias = Param | Call | IdOf | Text
Value: TypeAlias = str | int | bool | Expression | Sequence["Value"] | Mapping[str, "Value"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    name: str
    type: Literal["string", "int"] = "string"
    default: Value | None = None
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    symbol: str  # Bicep's symbolic name
    type: str  # "Microsoft.Web/sites"
    api_version: str
    name: Value
    body: Mapping[str, Value] = field(default_factory=dict)  # location, kind, properties, ...
    existing: bool = False  # Bicep only: a resource the template refers to, not deploys
    parent: str | None = None  # Bicep only: the symbol of the resource this one nests in


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    parameters: tuple[Parameter, ...]
    resources: tuple[Resource, ...]


# --- ARM ------------------------------------------------------------------------------------------


def to_arm(template: Template) -> dict[str, object]:
    """The ARM template (JSON-ready), resources in order, each with its `dependsOn`."""
    by_symbol = {resource.symbol: resource for resource in template.resources}
    parameters: dict[str, object] = {}
    for parameter in template.parameters:
        entry: dict[str, object] = {"type": parameter.type}
        if parameter.default is not None:
            entry["defaultValue"] = arm_value(parameter.default, by_symbol)
        if parameter.description:
            entry["metadata"] = {"description": parameter.description}
        parameters[parameter.name] = entry
    resources = []
    for resource in template.resources:
        entry = {
            "type": resource.type,
            "apiVersion": resource.api_version,
            "name": arm_value(resource.name, by_symbol),
        }
        entry.update({key: arm_value(value, by_symbol) for key, value in resource.body.items()})
        needed = sorted(_ids_in(resource.body))
        if needed:
            entry["dependsOn"] = [arm_value(IdOf(symbol), by_symbol) for symbol in needed]
        resources.append(entry)
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "resources": resources,
    }


def arm_value(value: Value, by_symbol: Mapping[str, Resource]) -> object:
    """`value` as ARM JSON: expressions in brackets, literal strings that start with `[` escaped."""
    if isinstance(value, Param | Call | IdOf | Text):
        return f"[{_arm_expression(value, by_symbol)}]"
    if isinstance(value, str):
        return "[" + value if value.startswith("[") else value
    if isinstance(value, bool | int):
        return value
    if isinstance(value, Mapping):
        return {key: arm_value(item, by_symbol) for key, item in value.items()}
    return [arm_value(item, by_symbol) for item in value]


def _arm_expression(value: Expression, by_symbol: Mapping[str, Resource]) -> str:
    if isinstance(value, Param):
        return f"parameters('{value.name}')"
    if isinstance(value, Call):
        return value.text
    if isinstance(value, IdOf):
        target = by_symbol[value.symbol]
        return f"resourceId('{target.type}', {_arm_operand(target.name, by_symbol)})"
    pattern, arguments = "", list[str]()
    for part in value.parts:
        if isinstance(part, str):
            pattern += part.replace("'", "''").replace("{", "{{").replace("}", "}}")
        else:
            pattern += "{" + str(len(arguments)) + "}"
            arguments.append(_arm_expression(part, by_symbol))
    return f"format('{pattern}', {', '.join(arguments)})"


def _arm_operand(value: Value, by_symbol: Mapping[str, Resource]) -> str:
    """A value as an argument inside an ARM expression."""
    if isinstance(value, Param | Call | IdOf | Text):
        return _arm_expression(value, by_symbol)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true()" if value else "false()"
    if isinstance(value, int):
        return str(value)
    raise ValueError("an object or array cannot be a resource name")


def _ids_in(value: object) -> set[str]:
    if isinstance(value, IdOf):
        return {value.symbol}
    if isinstance(value, Mapping):
        return {symbol for item in value.values() for symbol in _ids_in(item)}
    if isinstance(value, list | tuple):
        return {symbol for item in value for symbol in _ids_in(item)}
    return set()


# --- Bicep ----------------------------------------------------------------------------------------


def to_bicep(template: Template, header: str = "") -> str:
    """The Bicep file: an optional comment header, the parameters, then the resources."""
    lines = [f"// {line}" if line else "//" for line in header.splitlines()]
    if lines:
        lines.append("")
    for parameter in template.parameters:
        if parameter.description:
            lines.append(f"@description({_bicep_string(parameter.description)})")
        default = f" = {_bicep(parameter.default, 0)}" if parameter.default is not None else ""
        lines.append(f"param {parameter.name} {parameter.type}{default}")
    for resource in template.resources:
        body = _bicep({"name": resource.name, **resource.body}, 0)
        if resource.parent:  # a symbol, not a value: first in the body
            body = body.replace("{\n", f"{{\n  parent: {resource.parent}\n", 1)
        kind = _bicep_string(f"{resource.type}@{resource.api_version}")
        existing = " existing" if resource.existing else ""
        lines += ["", f"resource {resource.symbol} {kind}{existing} = {body}"]
    return "\n".join(lines) + "\n"


def _bicep(value: Value, depth: int) -> str:
    indent = "  " * (depth + 1)
    if isinstance(value, Param):
        return value.name
    if isinstance(value, Call):
        return value.text
    if isinstance(value, IdOf):
        return f"{value.symbol}.id"
    if isinstance(value, Text):
        return "'" + "".join(_bicep_part(part) for part in value.parts) + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _bicep_string(value)
    if isinstance(value, Mapping):
        items = [
            f"{indent}{_bicep_key(key)}: {_bicep(item, depth + 1)}" for key, item in value.items()
        ]
        return "{\n" + "\n".join(items) + "\n" + "  " * depth + "}" if items else "{}"
    items = [f"{indent}{_bicep(item, depth + 1)}" for item in value]
    return "[\n" + "\n".join(items) + "\n" + "  " * depth + "]" if items else "[]"


def _bicep_part(part: str | Param | Call) -> str:
    if isinstance(part, str):
        return _bicep_escape(part)
    return "${" + (part.name if isinstance(part, Param) else part.text) + "}"


def _bicep_key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) else _bicep_string(key)


def _bicep_string(text: str) -> str:
    return "'" + _bicep_escape(text) + "'"


def _bicep_escape(text: str) -> str:
    escaped = "".join(_BICEP_ESCAPES.get(char, char) for char in text)
    return escaped.replace("${", "\\${")


def arm_json(template: Template) -> str:
    """The ARM template as text, as vendorer prints and writes templates."""
    return json.dumps(to_arm(template), indent=2) + "\n"
