"""Check requests and responses against GitHub's OpenAPI description (the npm package @octokit/openapi).

`.ci/run` installs the package under `.venv/node`; elsewhere set MLCI_GITHUB_OPENAPI to its
`api.github.com.json`. OpenAPI 3.0 schemas are JSON Schema plus `nullable`, which is rewritten as a
union with null before validating."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.testing.fixtures import ROOT

SPEC = Path(
    os.environ.get(
        "MLCI_GITHUB_OPENAPI",
        ROOT
        / ".venv"
        / "node"
        / "node_modules"
        / "@octokit"
        / "openapi"
        / "generated"
        / "api.github.com.json",
    )
)


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


# Answers GitHub may give on any operation whether or not its description lists them (bad credentials,
# a token without the permission, a missing resource, a refused value, rate limits, outages).
GENERIC_STATUSES = {401, 403, 404, 409, 422, 429, 500, 502, 503, 504}


def _placeholders(escaped: str) -> str:
    """A path template (regex-escaped) as a pattern: `{ref}` spans slashes (heads/main), others do not."""
    escaped = escaped.replace(r"\{ref\}", ".+")
    return re.sub(r"\\\{[^}]+\\\}", "[^/]+", escaped)


def _only_missing(error: Any) -> bool:
    """True when a validation error is only about absent required properties (in every branch tried)."""
    if error.validator == "required":
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        return any(all(_only_missing(e) for e in subs) for subs in branches.values())
    return False


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    spec: dict[str, Any]


class GitHubApi:
    """GitHub's REST description: find the operation for a request, validate bodies against it."""

    # The fake's answers are completed from this description (`complete`), so every required field is
    # present and an absent one is a departure like any other.
    complete_responses = True

    def __init__(self, spec: Path = SPEC) -> None:
        from jsonschema import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        self.doc: dict[str, Any] = _nullable(json.loads(spec.read_text()))
        self._registry = Registry().with_resource("urn:github", Resource.from_contents(self.doc, DRAFT7))
        self._validator = Draft7Validator
        self._paths = [(re.compile("^" + _placeholders(re.escape(t)) + "$"), t) for t in self.doc["paths"]]

    def operation(self, method: str, path: str) -> Operation | None:
        matches = [t for pattern, t in self._paths if pattern.match(path)]
        # the most specific template: fewest placeholders (".../pulls/comments" before ".../pulls/{n}")
        for template in sorted(matches, key=lambda t: t.count("{")):
            spec = self.doc["paths"][template].get(method.lower())
            if spec:
                return Operation(template, method, spec)
        return None

    def errors(self, pointer: str, instance: Any, *, complete: bool = True) -> list[str]:
        """Departures of `instance` from the schema at `pointer`; with complete=False a missing
        required property is not one (see `check`)."""
        validator = self._validator({"$ref": f"urn:github#{pointer}"}, registry=self._registry)
        found = [e for e in validator.iter_errors(instance) if complete or not _only_missing(e)]
        return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in found]

    def check(self, method: str, path: str, status: int, request: Any, response: Any) -> list[str]:
        """Every way one exchange departs from the description; [] when it conforms."""
        path = path.removeprefix("/uploads")  # release assets go to the uploads host, same paths
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in GitHub's REST API"]
        base = "/paths/" + op.template.replace("~", "~0").replace("/", "~1") + "/" + method.lower()
        found: list[str] = []
        body = op.spec.get("requestBody", {}).get("content", {}).get("application/json")
        if body and request is not None and status < 400:  # a refused request may be wrong on purpose
            found += [
                f"{method} {op.template} request {e}"
                for e in self.errors(base + "/requestBody/content/application~1json/schema", request)
            ]
        answer = op.spec["responses"].get(str(status))
        where = f"{base}/responses/{status}"
        if answer and "$ref" in answer:  # a shared answer, e.g. #/components/responses/not_found
            where = answer["$ref"].removeprefix("#")
            answer = self.doc["components"]["responses"][where.rsplit("/", 1)[1]]
        if answer is None and status in GENERIC_STATUSES:
            pass
        elif answer is None:
            found.append(
                f"{method} {op.template}: GitHub documents no {status} answer ({sorted(op.spec['responses'])})"
            )
        elif "application/json" in answer.get("content", {}) and response is not None:
            pointer = f"{where}/content/application~1json/schema"
            answered = self.errors(pointer, response, complete=self.complete_responses)
            found += [f"{method} {op.template} {status} response {e}" for e in answered]
        return found

    # --- completing the fake's answers -------------------------------------------------------------

    def complete(self, method: str, path: str, status: int, body: Any) -> Any:
        """`body` with every required property GitHub documents for this answer: the fake sets the
        fields mlci reads; the rest get neutral values of the documented type (null where nullable,
        the first enum value, 0, "", false, [], or a completed object)."""
        op = self.operation(method, path.removeprefix("/uploads"))
        answer = op.spec["responses"].get(str(status)) if op else None
        if not answer:
            return body
        answer = self._resolve(answer)
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        return self._fill(schema, body, 0) if schema else body

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _fill(self, schema: Any, value: Any, depth: int) -> Any:
        schema = self._resolve(schema)
        if not isinstance(schema, dict) or depth > 15:
            return value
        for sub in schema.get("allOf", []):
            value = self._fill(sub, value, depth + 1)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches and value is not None:
            fitting = [b for b in map(self._resolve, branches) if _fits(b, value)]
            return self._fill(fitting[0], value, depth + 1) if fitting else value
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    value[key] = self._neutral(props.get(key, {}), depth + 1)
            for key, sub in props.items():
                if key in value:
                    value[key] = self._fill(sub, value[key], depth + 1)
        elif isinstance(value, list) and "items" in schema:
            value = [self._fill(schema["items"], v, depth + 1) for v in value]
        return value

    def _neutral(self, schema: Any, depth: int) -> Any:
        schema = self._resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf") or []
        if any(self._resolve(b).get("type") == "null" for b in branches):
            return None
        if branches:
            return self._neutral(branches[0], depth + 1)
        if "allOf" in schema:
            return self._fill(schema, {}, depth + 1)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._fill(schema, {}, depth + 1)
        neutral = {
            "string": _neutral_string(schema),
            "integer": 0,
            "number": 0,
            "boolean": False,
            "array": [],
        }
        return neutral.get(kind) if isinstance(kind, str) else None


def _fits(schema: dict[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    if kind is None:
        return isinstance(value, dict) == ("properties" in schema or "allOf" in schema)
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }.get(kind, False)


def _neutral_string(schema: dict[str, Any]) -> str:
    return {
        "date-time": "1970-01-01T00:00:00Z",
        "uri": "https://github.com/",
        "email": "noreply@github.com",
    }.get(str(schema.get("format")), "")


@cache
def github_api() -> GitHubApi:
    return GitHubApi()
