"""`parlour remotes` and `parlour chat --model remote:NAME/MODEL` against llama-cpp-python's server, as a
user runs them: the key read from stdin into the keyring, the models listed, a reply stored, and each
failure one sentence."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.parlour_server import free_port
from tests.support.remote_servers import KEY, served_model


@pytest.fixture
def run(parlour_cmd: list[str], tmp_path: Path):  # noqa: ANN201
    env = {
        **os.environ,
        "PARLOUR_HOME": str(tmp_path / "home"),
        "PYTHON_KEYRING_BACKEND": "tests.support.file_keyring.FileKeyring",
        "PARLOUR_TEST_KEYRING": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }

    def parlour(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*parlour_cmd, *args], input=stdin, capture_output=True, text=True, timeout=300, env=env)

    return parlour


def test_add_list_chat_and_remove(run, llama_server: str, tmp_path: Path) -> None:  # noqa: ANN001
    model = served_model(llama_server)
    added = run("remotes", "add", "box", llama_server, "--key-stdin", stdin=KEY + "\n")
    assert added.returncode == 0, added.stderr
    assert f"remote:box/{model}" in added.stdout and "leaves this computer" in added.stdout
    listed = json.loads(run("remotes", "list", "--json").stdout)
    assert listed == [{"name": "box", "base_url": llama_server, "models": [model]}]
    question = "What is the capital of France? Answer in one sentence."
    chat = run("chat", "--model", f"remote:box/{model}", "--temperature", "0", "--max-tokens", "24", question)
    assert chat.returncode == 0, chat.stderr
    assert "Paris" in chat.stdout
    talk = run(
        "chat",
        "--model",
        f"remote:box/{model}",
        "--temperature",
        "0",
        "--max-tokens",
        "24",
        stdin=f"{question}\n/exit\n",
    )
    assert talk.returncode == 0, talk.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "home" / "parlour.db") as db:  # stored like any other chat
        replies = db.execute("SELECT model, content FROM messages WHERE role = 'assistant'").fetchall()
    assert replies[0][0] == f"remote:box/{model}" and "Paris" in replies[0][1]
    assert run("remotes", "rm", "box").returncode == 0
    assert run("remotes", "list", "--json").stdout.strip() == "[]"
    assert KEY not in (tmp_path / "keyring.json").read_text()  # the key went with it


def test_failures_are_sentences(run, llama_server: str) -> None:  # noqa: ANN001
    gone = run("remotes", "add", "gone", f"http://127.0.0.1:{free_port()}/v1")
    assert gone.returncode == 1 and "Parlour cannot reach gone at" in gone.stderr
    refused = run("remotes", "add", "box", llama_server, "--key-stdin", stdin="wrong\n")
    assert refused.returncode == 1 and "box refused the API key" in refused.stderr
    not_http = run("remotes", "add", "box", "ftp://example.com/v1")
    assert not_http.returncode == 2 and "is not an http:// or https:// address" in not_http.stderr
    unknown = run("chat", "--model", "remote:nobody/m", "hi")
    assert unknown.returncode == 2 and "No remote endpoint is called 'nobody'" in unknown.stderr
    for result in (gone, refused, not_http, unknown):
        assert "Traceback" not in result.stderr
