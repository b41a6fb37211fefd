"""`/api/docs`: a browsable reference of the HTTP API, rendered on the server from its own OpenAPI schema.

Litestar's bundled renderers (Swagger UI, ReDoc, Scalar…) load their scripts from a CDN and start them
with inline scripts; the server's Content-Security-Policy forbids both, and school networks may not
reach a CDN at all. This page needs neither: it is plain HTML built from the same schema as
`/api/docs/openapi.json` (Litestar generates it from the handlers and msgspec types), styled by one
stylesheet from the server's own static files, with no script at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from markupsafe import Markup, escape

from server.web.pages import ASSET_VERSION, TEMPLATE_DIR

__all__ = ["ApiReferencePlugin", "build_reference", "linked", "type_text"]

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass
class Field:
    name: str
    type: str
    required: bool
    description: str = ""
    where: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    anchor: str
    parameters: list[Field] = field(default_factory=list)
    body: str = ""
    responses: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Schema:
    name: str
    description: str
    anchor: str
    properties: list[Field] = field(default_factory=list)
    shape: str = ""


@dataclass
class Reference:
    title: str
    version: str
    groups: list[tuple[str, list[Operation]]]
    schemas: list[Schema]


def type_text(schema: dict[str, Any] | None) -> str:
    """A schema in a few words: `string`, `list of Mark`, `integer or null`, `one of "a", "b"`."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(REF_PREFIX)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(dict.fromkeys(type_text(option) for option in schema[key]))
    if "enum" in schema:
        return "one of " + ", ".join(
            f'"{value}"' if isinstance(value, str) else str(value) for value in schema["enum"]
        )
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_text({**schema, "type": one}) for one in kind)
    if kind == "array":
        return f"list of {type_text(schema.get('items'))}"
    if kind == "object" and "additionalProperties" in schema and not schema.get("properties"):
        values = schema["additionalProperties"]
        return f"map of {type_text(values) if isinstance(values, dict) else 'any'}"
    text = str(kind or "any")
    if "format" in schema:
        text += f" ({schema['format']})"
    return text


def _anchor(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() else "-" for c in part.lower()).strip("-") for part in parts)


def _body(operation: dict[str, Any]) -> str:
    content = (operation.get("requestBody") or {}).get("content") or {}
    for media in content.values():
        return type_text(media.get("schema"))
    return ""


def _responses(operation: dict[str, Any]) -> list[tuple[str, str, str]]:
    answers = []
    for status, response in sorted((operation.get("responses") or {}).items()):
        shape = ""
        for media in (response.get("content") or {}).values():
            shape = type_text(media.get("schema"))
            break
        answers.append((str(status), str(response.get("description", "")), shape))
    return answers


def build_reference(openapi: dict[str, Any]) -> Reference:
    """The schema arranged for reading: operations grouped by tag (in path order), then the types."""
    groups: dict[str, list[Operation]] = {}
    for path, item in (openapi.get("paths") or {}).items():
        shared_parameters = item.get("parameters") or []
        for method in METHODS:
            operation = item.get(method)
            if not operation:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            parameters = [
                Field(
                    name=str(parameter.get("name")),
                    type=type_text(parameter.get("schema")),
                    required=bool(parameter.get("required")),
                    description=str(parameter.get("description") or ""),
                    where=str(parameter.get("in")),
                )
                for parameter in [*shared_parameters, *(operation.get("parameters") or [])]
            ]
            groups.setdefault(tag, []).append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=str(operation.get("summary") or ""),
                    description=str(operation.get("description") or ""),
                    anchor=_anchor(method, path),
                    parameters=parameters,
                    body=_body(operation),
                    responses=_responses(operation),
                )
            )
    schemas = []
    for name, schema in sorted(((openapi.get("components") or {}).get("schemas") or {}).items()):
        required = set(schema.get("required") or [])
        properties = [
            Field(
                name=prop,
                type=type_text(definition),
                required=prop in required,
                description=str(definition.get("description") or ""),
            )
            for prop, definition in (schema.get("properties") or {}).items()
        ]
        schemas.append(
            Schema(
                name=name,
                description=str(schema.get("description") or ""),
                anchor=_anchor("type", name),
                properties=properties,
                shape="" if properties else type_text(schema),
            )
        )
    info = openapi.get("info") or {}
    return Reference(
        title=str(info.get("title", "API")),
        version=str(info.get("version", "")),
        groups=sorted(groups.items()),
        schemas=schemas,
    )


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def linked(text: str, names: set[str]) -> Markup:
    """`text` (from `type_text`) with every type name it mentions linked to that type's entry."""
    parts: list[str] = []
    position = 0
    for match in _WORD.finditer(text):
        parts.append(str(escape(text[position : match.start()])))
        word = match.group(0)
        if word in names:
            parts.append(f'<a href="#{_anchor("type", word)}">{escape(word)}</a>')
        else:
            parts.append(str(escape(word)))
        position = match.end()
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


_environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)


class ApiReferencePlugin(OpenAPIRenderPlugin):
    """Serves the reference page at `/api/docs` (and `/api/docs/reference`)."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/reference"])

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        reference = build_reference(openapi_schema)
        names = {schema.name for schema in reference.schemas}
        template = _environment.get_template("api_reference.html")
        page = template.render(
            reference=reference,
            linked=lambda text: linked(text, names),
            asset_version=ASSET_VERSION,
        )
        return page.encode("utf-8")
