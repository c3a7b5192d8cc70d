"""A local Argo Server for tests: the workflow part of its REST API, every request and answer
validated against the Argo Server's Swagger description
(../shared/schemas/argo-workflows-server/swagger-slim.json).

It keeps WorkflowTemplates (the generated ones, loaded by tests) and the Workflows submitted
from them, as the Argo Server does: a submission from a template that does not exist, or with
a parameter the template does not declare, is refused; a workflow gets ``generateName`` plus a
random suffix, the template's label, and the submitted labels. Tests inject faults (a 5xx
after the workflow was created: a lost answer) and read ``contract_errors``, which must stay
empty: a request the spec does not allow, or an answer it does not describe, fails the test.
Bodies are held to the spec's properties (an unknown key is a contract error: the Argo
Server's JSON decoding rejects them).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from jsonschema import Draft4Validator
from tests.support.github_server import Fault

SPEC = (
    Path(__file__).resolve().parents[3] / "shared/schemas/argo-workflows-server/swagger-slim.json"
)
JSON = dict[str, Any]
__all__ = ["FakeArgo", "Fault", "argo_server"]


def _closed(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` wherever properties are listed."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


class FakeArgo:
    def __init__(self, token: str = "argo-test-token", namespace: str = "driftloop") -> None:  # noqa: S107
        self.token, self.namespace = token, namespace
        self.spec = json.loads(SPEC.read_text())
        self.definitions = _closed(self.spec["definitions"])
        self.lock = threading.RLock()
        self.templates: dict[str, JSON] = {}
        self.workflows: list[JSON] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.contract_errors: list[str] = []
        self.base = ""
        self.routes = [
            (method.upper(), re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"),
             operation)
            for path, item in self.spec["paths"].items()
            for method, operation in item.items()
        ]  # fmt: skip

    # ---- state --------------------------------------------------------------------------
    def add_template(self, template: JSON) -> None:
        self.templates[template["metadata"]["name"]] = template

    def set_phase(self, name: str, phase: str) -> None:
        with self.lock:
            next(w for w in self.workflows if w["metadata"]["name"] == name)["status"] = {
                "phase": phase
            }

    # ---- validation ---------------------------------------------------------------------
    def _check(self, schema: JSON, value: Any, what: str) -> None:
        validator = Draft4Validator({"definitions": self.definitions, **schema})
        for error in validator.iter_errors(value):
            self.contract_errors.append(
                f"{what}: {'/'.join(map(str, error.path))}: {error.message}"
            )

    def _route(self, method: str, path: str) -> tuple[JSON, dict[str, str]] | None:
        for verb, pattern, operation in self.routes:
            match = pattern.match(path)
            if verb == method and match:
                return operation, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    def _validate_request(
        self, operation: JSON, query: dict[str, list[str]], body: Any, what: str
    ) -> None:
        params = {p["name"]: p for p in operation.get("parameters", [])}
        for name, values in query.items():
            param = params.get(name)
            if param is None or param["in"] != "query":
                self.contract_errors.append(f"{what}: unknown query parameter {name}")
            elif len(values) != 1:
                self.contract_errors.append(f"{what}: {name} given {len(values)} times")
            elif param.get("type") == "integer" and not values[0].lstrip("-").isdigit():
                self.contract_errors.append(f"{what}: {name}={values[0]!r} is not an integer")
        body_param = next((p for p in params.values() if p["in"] == "body"), None)
        if body_param is not None:
            self._check(body_param["schema"], body, f"{what} body")
        elif body is not None:
            self.contract_errors.append(f"{what}: a body the operation does not take")

    # ---- operations ---------------------------------------------------------------------
    def handle(  # noqa: PLR0911 - one answer per way a request fails
        self, method: str, url: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, JSON]:
        parsed = urlparse(url)
        query = parse_qs(parsed.query, keep_blank_values=True)
        what = f"{method} {parsed.path}"
        with self.lock:
            self.requests.append((method, url))
            found = self._route(method, parsed.path)
            if found is None:
                self.contract_errors.append(f"{what}: not in the spec")
                return 404, {"code": 5, "message": "Not Found"}
            operation, args = found
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self.contract_errors.append(f"{what}: body is not JSON")
                return 400, {"code": 3, "message": "bad JSON"}
            self._validate_request(operation, query, body, what)
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"code": 16, "message": "token not valid"}
            if args.get("namespace") != self.namespace:
                return 403, {"code": 7, "message": f"namespace {args.get('namespace')} forbidden"}
            fault = next((f for f in self.faults if f.method == method
                          and re.search(f.pattern, parsed.path) and f.times > 0), None)  # fmt: skip
            if fault is not None:
                fault.times -= 1
                if not fault.after_write:
                    return fault.status, {"code": 14, "message": "unavailable"}
            status, answer = self._operate(operation["operationId"], args, query, body)
            if fault is not None:
                return fault.status, {"code": 14, "message": "unavailable"}
            schema = operation["responses"].get(str(status), operation["responses"]["default"])
            self._check(schema["schema"], answer, f"{what} answer {status}")
            return status, answer

    def _operate(  # noqa: PLR0911 - one branch per operation
        self, operation: str, args: dict[str, str], query: dict[str, list[str]],
                 body: Any) -> tuple[int, JSON]:  # fmt: skip
        if operation == "WorkflowService_SubmitWorkflow":
            return self._submit(body or {})
        if operation == "WorkflowService_ListWorkflows":
            return self._list(query)
        if operation == "WorkflowService_GetWorkflow":
            found = [w for w in self.workflows if w["metadata"]["name"] == args["name"]]
            return (200, found[0]) if found else (404, {"code": 5, "message": "not found"})
        if operation == "WorkflowTemplateService_ListWorkflowTemplates":
            selector = query.get("listOptions.labelSelector", [""])[0]
            items = [t for t in self.templates.values()
                     if not selector or selector in t["metadata"].get("labels", {})]  # fmt: skip
            return 200, {"metadata": {}, "items": items}
        if operation == "WorkflowTemplateService_GetWorkflowTemplate":
            template = self.templates.get(args["name"])
            if template is None:
                return 404, {
                    "code": 5,
                    "message": f'workflowtemplates.argoproj.io "{args["name"]}" not found',
                }
            return 200, template
        return 501, {"code": 12, "message": f"{operation} is not implemented by the fake"}

    def _submit(self, body: JSON) -> tuple[int, JSON]:
        if body.get("resourceKind") != "WorkflowTemplate":
            return 400, {"code": 3, "message": f"resourceKind {body.get('resourceKind')!r}"}
        template = self.templates.get(body.get("resourceName", ""))
        if template is None:
            name = body.get("resourceName")
            return 404, {"code": 5, "message": f'workflowtemplates.argoproj.io "{name}" not found'}
        options = body.get("submitOptions") or {}
        declared = {p["name"] for p in template["spec"].get("arguments", {}).get("parameters", [])}
        parameters = []
        for text in options.get("parameters") or []:
            name, sep, value = text.partition("=")
            if not sep or name not in declared:
                return 400, {"code": 3, "message": f"parameter {name!r} is not declared"}
            parameters.append({"name": name, "value": value})
        labels = {"workflows.argoproj.io/workflow-template": template["metadata"]["name"]}
        for pair in filter(None, (options.get("labels") or "").split(",")):
            key, sep, value = pair.partition("=")
            if not sep:
                return 400, {"code": 3, "message": f"label {pair!r} is not key=value"}
            labels[key] = value
        prefix = options.get("generateName") or f"{template['metadata']['name']}-"
        workflow = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {
                "name": prefix + secrets.token_hex(3)[:5],
                "namespace": self.namespace,
                "labels": labels,
                "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "spec": {
                "workflowTemplateRef": {"name": template["metadata"]["name"]},
                "arguments": {"parameters": parameters},
            },
            "status": {},
        }
        self.workflows.append(workflow)
        return 200, workflow

    def _list(self, query: dict[str, list[str]]) -> tuple[int, JSON]:
        selector = query.get("listOptions.labelSelector", [""])[0]
        terms = [t.partition("=") for t in filter(None, selector.split(","))]

        def matches(workflow: JSON) -> bool:
            labels = workflow["metadata"].get("labels", {})
            return all((k in labels) if not sep else labels.get(k) == v for k, sep, v in terms)

        items = [w for w in self.workflows if matches(w)]
        start = int(query.get("listOptions.continue", ["0"])[0] or 0)
        limit = int(query.get("listOptions.limit", ["0"])[0] or 0) or len(items) or 1
        page = items[start : start + limit]
        more = start + limit < len(items)
        return 200, {"metadata": {"continue": str(start + limit)} if more else {}, "items": page}


@contextmanager
def argo_server(fake: FakeArgo) -> Iterator[FakeArgo]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(self.command, self.path, headers, raw)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
