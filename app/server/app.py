"""The Starlette application: the routes of both APIs behind the security checks.

Order of the checks on every request: the Host header (TrustedHostMiddleware, against DNS
rebinding), CORS (an explicit allow-list, empty by default: a foreign page's preflight is refused),
then the bearer token and the body's size (read once, at most MAX_BODY_BYTES, parsed as JSON).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.server import anthropic_api, openai_api
from app.server.errors import ApiError, error_body, error_response
from app.server.registry import ModelRegistry
from app.server.security import MAX_BODY_BYTES, Access, token_matches

log = logging.getLogger(__name__)


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object of a POST, read in pieces and refused past MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (UnicodeDecodeError, ValueError) as err:
        raise ApiError(400, f"The request body is not valid JSON ({err}).") from err
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def guarded(endpoint: Any) -> Any:
    """The endpoint behind the token check and, for a POST, the body's limits; errors in the API's shape."""

    async def handle(request: Request) -> Response:
        access: Access = request.app.state.access
        headers = request.headers
        try:
            if not token_matches(access.token, headers.get("authorization"), headers.get("x-api-key")):
                raise ApiError(401, "A valid API key is required: send 'Authorization: Bearer TOKEN'.")
            if request.method == "POST":
                request.state.body = await read_body(request)
            return await endpoint(request)
        except ApiError as err:
            return error_response(request.url.path, err)
        except Exception:
            log.exception("request failed: %s", request.url.path)
            return JSONResponse(error_body(request.url.path, 500, "The server failed; details are in its log."), 500)

    return handle


def build_app(registry: ModelRegistry, access: Access) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        registry.start_idle_watch()
        yield
        await registry.close()

    routes = [
        Route("/v1/models", guarded(openai_api.list_models), methods=["GET"]),
        Route("/v1/chat/completions", guarded(openai_api.chat_completions), methods=["POST"]),
        Route("/v1/completions", guarded(openai_api.completions), methods=["POST"]),
        Route("/v1/messages", guarded(anthropic_api.messages_endpoint), methods=["POST"]),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(access.hosts)),
        Middleware(
            CORSMiddleware,
            allow_origins=list(access.origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-api-key", "anthropic-version"],
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.registry = registry
    app.state.access = access
    return app
