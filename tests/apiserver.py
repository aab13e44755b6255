"""Local stand-ins for listmonk's and Buttondown's APIs, on 127.0.0.1, that check every
request body against the service's published API description.

Neither service can run here, so each stand-in implements the few endpoints roundup uses,
keeps what it was sent, and answers 422 (recording the fault in ``errors``) to a body the
description does not allow. The descriptions are read at test time from ``../shared/specs``
(or ``$ROUNDUP_SPECS``), never copied into the repository; without them the tests skip
with that reason, except under ``CI=true``, where they fail.

``hold`` makes the server keep a request's answer back for that many seconds after it has
acted on it (a client killed meanwhile has had its effect, but never heard of it);
``drop`` makes it act, then close the connection without answering.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("ROUNDUP_SPECS", ROOT.parent / "shared" / "specs"))
LISTMONK_SPEC = "listmonk-collections.yaml"
BUTTONDOWN_SPEC = "buttondown-openapi.json"


def load_spec(name: str) -> dict[str, Any]:
    """The API description ``name`` from :data:`SPECS`; skips (fails in CI) without it."""
    path = SPECS / name
    if not path.exists():
        problem = f"{path} is missing: the published API description the test server checks"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    text = path.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    return document


def body_validator(document: dict[str, Any], path: str, method: str) -> Draft202012Validator:
    """A validator for the JSON request body of ``method path`` in ``document``."""
    operation = document["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    # The body's schema as the root, the document's components beside it, so that every
    # "#/components/..." reference resolves as it does in the document.
    return Draft202012Validator({**schema, "components": document["components"]})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class ApiServer:
    """The HTTP plumbing the two stand-ins share; ``handle`` is theirs."""

    token: str  # the Authorization header a request must carry
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # requests the description refuses
    hold: dict[str, float] = field(default_factory=dict)  # "METHOD /path" -> seconds
    drop: set[str] = field(default_factory=set)  # "METHOD /path": act, then hang up
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def handle(self, request: Request) -> tuple[int, Any]:
        raise NotImplementedError

    def refuse(self, validator: Draft202012Validator, request: Request) -> tuple[int, Any] | None:
        """422 with the faults when ``request.body`` breaks the description, else ``None``."""
        faults = [
            f"{'/'.join(str(p) for p in e.absolute_path) or 'body'}: {e.message}"
            for e in validator.iter_errors(request.body)
        ]
        if not faults:
            return None
        self.errors.append(f"{request.method} {request.path}: {'; '.join(faults)}")
        return 422, {"message": "; ".join(faults)}

    def __enter__(self) -> ApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.serve(self, "GET")

            def do_POST(self) -> None:
                server.serve(self, "POST")

            def do_PUT(self) -> None:
                server.serve(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request = Request(
            method,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            json.loads(raw) if raw else None,
        )
        with self.lock:
            self.requests.append(request)
            if request.headers.get("authorization") != self.token:
                status, answer = 401, {"message": "invalid credentials"}
            else:
                status, answer = self.handle(request)
        key = f"{method} {parts.path}"
        if key in self.drop:
            handler.close_connection = True
            return
        time.sleep(self.hold.get(key, 0.0))
        data = json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client was killed while the answer was held back: expected
            handler.close_connection = True


class Listmonk(ApiServer):
    """listmonk's campaign endpoints: list by tag, create, change status."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        document = copy.deepcopy(load_spec(LISTMONK_SPEC))
        # The one place the description and listmonk disagree: it calls send_at an object,
        # listmonk takes (and returns, see its Campaign schema) an RFC 3339 timestamp.
        request = document["components"]["schemas"]["CampaignRequest"]["properties"]
        request["send_at"] = {"type": "string", "format": "date-time"}
        self.create_body = body_validator(document, "/campaigns", "post")
        self.status_body = body_validator(document, "/campaigns/{id}/status", "put")
        self.campaigns: list[dict[str, Any]] = []
        self.started: list[tuple[int, str]] = []  # (campaign id, status it was set to)

    def handle(self, request: Request) -> tuple[int, Any]:
        path = request.path.removeprefix("/api")
        if request.method == "GET" and path == "/campaigns":
            tags = request.query.get("tags", [])
            found = [c for c in self.campaigns if not tags or set(tags) & set(c["tags"])]
            return 200, {"data": {"results": found, "total": len(found), "page": 1}}
        if request.method == "POST" and path == "/campaigns":
            refused = self.refuse(self.create_body, request)
            if refused:
                return refused
            body = dict(request.body)
            campaign = {
                **body,
                "id": len(self.campaigns) + 1,
                "status": "draft",
                "send_at": body.get("send_at"),
            }
            self.campaigns.append(campaign)
            return 200, {"data": campaign}
        parts = path.split("/")
        if request.method == "PUT" and len(parts) == 4 and parts[3] == "status":
            refused = self.refuse(self.status_body, request)
            if refused:
                return refused
            campaign = self.campaigns[int(parts[2]) - 1]
            campaign["status"] = request.body["status"]
            self.started.append((campaign["id"], campaign["status"]))
            return 200, {"data": campaign}
        return 404, {"message": "not found"}


class Buttondown(ApiServer):
    """Buttondown's emails endpoints: list and create, honouring X-Idempotency-Key."""

    def __init__(self, token: str, *, keep_keys: bool = True) -> None:
        super().__init__(token)
        document = load_spec(BUTTONDOWN_SPEC)
        self.create_body = body_validator(document, "/emails", "post")
        self.emails: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.keep_keys = keep_keys  # False: as if every idempotency key had expired

    def handle(self, request: Request) -> tuple[int, Any]:
        path = request.path.removeprefix("/v1")
        if request.method == "GET" and path == "/emails":
            wanted = set(request.query.get("status", []))
            found = [e for e in self.emails if not wanted or e["status"] in wanted]
            return 200, {"results": found, "next": None, "previous": None, "count": len(found)}
        if request.method == "POST" and path == "/emails":
            key = request.headers.get("x-idempotency-key", "")
            if key and key in self.keys:
                return 201, self.keys[key]
            refused = self.refuse(self.create_body, request)
            if refused:
                return refused
            email = {
                **request.body,
                "id": f"{len(self.emails) + 1:08x}-0000-4000-8000-000000000000",
                "status": request.body.get("status", "about_to_send"),
            }
            self.emails.append(email)
            if key and self.keep_keys:
                self.keys[key] = email
            return 201, email
        return 404, {"detail": "not found"}


@pytest.fixture
def listmonk_server() -> Iterator[Listmonk]:
    with Listmonk("token roundup:listmonk-token") as server:
        yield server


@pytest.fixture
def buttondown_server() -> Iterator[Buttondown]:
    with Buttondown("Token buttondown-key") as server:
        yield server
