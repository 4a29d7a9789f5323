"""Every rule of the server's security, tried from outside: the token, the Host header, CORS, the body's
size, a path in a model id, and the address it listens on."""

from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest

from app.server.security import MAX_BODY_BYTES, allowed_hosts, token_matches
from tests.support.parlour_server import GGUF_ID, TOKEN, Server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_missing_or_wrong_token_is_401(server: Server) -> None:
    assert httpx.get(f"{server.url}/models").status_code == 401
    wrong = httpx.get(f"{server.url}/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "API key" in wrong.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0).models.list()
    anthropic_shape = httpx.post(f"{server.url}/messages", json={})
    assert anthropic_shape.status_code == 401 and anthropic_shape.json()["type"] == "error"


def test_a_foreign_host_header_is_refused(server: Server) -> None:
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1."""
    refused = httpx.get(f"{server.url}/models", headers={**AUTH, "Host": f"evil.example:{server.port}"})
    assert refused.status_code == 400
    assert httpx.get(f"{server.url}/models", headers={**AUTH, "Host": f"localhost:{server.port}"}).status_code == 200


def test_a_cors_preflight_from_a_foreign_origin_is_refused(server: Server) -> None:
    preflight = httpx.options(
        f"{server.url}/chat/completions",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    plain = httpx.get(f"{server.url}/models", headers={**AUTH, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers  # no wildcard, ever


def test_an_allowed_origin_is_let_in(start_server) -> None:  # noqa: ANN001
    server = start_server("--allow-origin", "http://localhost:3000")
    preflight = httpx.options(
        f"{server.url}/chat/completions",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_an_oversized_body_is_413(server: Server) -> None:
    huge = json.dumps({"model": GGUF_ID, "messages": [{"role": "user", "content": "x" * (MAX_BODY_BYTES + 10)}]})
    answer = httpx.post(
        f"{server.url}/chat/completions", content=huge, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b"x" * (MAX_BODY_BYTES // 4)

    streamed = httpx.post(f"{server.url}/chat/completions", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413


def test_a_path_in_a_model_id_is_only_a_name_that_is_not_found(server: Server) -> None:
    for model in ("../../../etc/passwd", "/etc/passwd", str(server.home / "models" / "test" / "smollm2-mlx")):
        answer = httpx.post(
            f"{server.url}/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            headers=AUTH,
        )
        assert answer.status_code == 404, model
        assert answer.json()["error"]["param"] == "model"


def test_not_json_and_not_an_object_are_400(server: Server) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        answer = httpx.post(f"{server.url}/chat/completions", content=body, headers=AUTH)
        assert answer.status_code == 400, body


def test_the_token_and_host_rules() -> None:
    assert token_matches("abc", "Bearer abc", None) and token_matches("abc", None, "abc")
    assert not token_matches("abc", "Bearer abd", None) and not token_matches("abc", None, None)
    assert not token_matches("abc", "Basic abc", None)
    assert allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "::1", "[::1]")
    assert "192.168.1.20" in allowed_hosts("192.168.1.20")


def test_it_listens_on_this_computer_only_by_default(server: Server) -> None:
    import psutil

    listening = [
        c.laddr
        for c in psutil.Process(server.process.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(address.ip == "127.0.0.1" for address in listening)
