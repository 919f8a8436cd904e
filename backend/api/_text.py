"""Refuse text with NUL characters before any route sees it.

PostgreSQL cannot store U+0000 in a text value, so a request carrying one would
otherwise fail in the database (and SQLite would store it); it is answered 422 instead.
Authentication still comes first: a request with NUL text but without valid credentials is
passed on unchanged to a protected route, whose own check answers 401, so the answer never
tells an unauthenticated caller anything about the route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api._problems import PROBLEM_JSON

__all__ = ["MAX_BODY_BYTES", "RefuseNul"]

#: The largest request body the API reads; every body it accepts is far smaller.
MAX_BODY_BYTES = 1 << 20
_ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)

#: Whether a request's ``Authorization`` header value (or None) names a valid caller.
Authenticated = Callable[[str | None], Awaitable[bool]]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _body_has_nul(body: bytes, content_type: bytes) -> bool:
    if b"\x00" in body:
        return True
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return b"%00" in body.lower()
    if not _ESCAPED_NUL.search(body):
        return False
    try:
        # An escaped backslash followed by "u0000" is harmless text: decode to be sure.
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route's own validation answers it


class RefuseNul:
    """ASGI middleware: answer 422 to a request whose path, query or body holds U+0000."""

    def __init__(
        self, app: ASGIApp, *, authenticated: Authenticated, protected: Callable[[str], bool]
    ) -> None:
        self._app = app
        self._authenticated = authenticated
        self._protected = protected

    async def _answer_for_caller(self, scope: Scope) -> bool:
        """Whether the NUL refusal is for this caller: it is authenticated or needs no token."""
        if not self._protected(scope.get("path", "")):
            return True
        headers = dict(scope.get("headers", []))
        value = headers.get(b"authorization")
        return await self._authenticated(value.decode("latin-1") if value is not None else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query.lower() or b"\x00" in query:
            if await self._answer_for_caller(scope):
                await self._refuse(scope, send, "the path or query holds a NUL (U+0000) character")
                return
            await self._app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self._app(scope, _replay([message], receive), send)  # a disconnect
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._respond(scope, send, 413, "the request body is too large")
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").lower()
        if _body_has_nul(body, content_type) and await self._answer_for_caller(scope):
            await self._refuse(scope, send, "the body holds a NUL (U+0000) character in its text")
            return
        replay = _replay([{"type": "http.request", "body": body, "more_body": False}], receive)
        await self._app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, detail: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self._respond(scope, send, 422, detail)

    async def _respond(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        title = "Unprocessable Content" if status == 422 else "Content Too Large"
        body = json.dumps(
            {
                "type": "about:blank",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": scope.get("path", ""),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], then: Receive) -> Receive:
    """Hand out ``messages`` first, then whatever the server sends (a disconnect)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        return await then()

    return receive
