"""Errors as each API shapes them: a status, one plain sentence, and the API's own error type."""

from __future__ import annotations

from starlette.responses import JSONResponse

# status -> (OpenAI type, Anthropic type)
TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("authentication_error", "authentication_error"),
    404: ("not_found_error", "not_found_error"),
    413: ("invalid_request_error", "request_too_large"),
    503: ("server_error", "overloaded_error"),
    500: ("server_error", "api_error"),
}


class ApiError(Exception):
    """A request the server answers with an error: its status and the sentence for the client."""

    def __init__(self, status: int, message: str, param: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.retry_after = status, message, param, retry_after


def is_anthropic(path: str) -> bool:
    return path.rstrip("/").endswith("/v1/messages")


def error_body(path: str, status: int, message: str, param: str | None = None) -> dict[str, object]:
    openai_type, anthropic_type = TYPES.get(status, TYPES[500])
    if is_anthropic(path):
        return {"type": "error", "error": {"type": anthropic_type, "message": message}}
    return {"error": {"message": message, "type": openai_type, "param": param, "code": None}}


def error_response(path: str, error: ApiError) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return JSONResponse(error_body(path, error.status, error.message, error.param), error.status, headers=headers)
