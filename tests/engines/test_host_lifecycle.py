"""The engine host's life: it dies with the program that started it, and nothing waits on it for ever.

The misbehaving hosts here are small scripts standing in for a broken peer (the real host
never writes a JSON array or a 2 MB line); the client under test is the real one.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines import host_client
from engines.base import EngineError, Finished, GenerationParams
from engines.host_client import PROTOCOL_ERROR, SILENT_ERROR, EngineClient
from engines.templates import TOO_SLOW_MESSAGE
from tests.conftest import FRANCE, GREEDY
from tests.engines.test_template_bounds import C_LEVEL_HANGS, _alive, _wait_until_gone

GENEROUS_S = 60
ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import sys, threading
sys.path.insert(0, {root!r})
from engines.base import GenerationParams
from engines.host_client import EngineClient
client = EngineClient()
client.load({model!r})
pong = client.ping()
reply = client.generate([{{"role": "user", "content": "Write a very long essay about the sea."}}],
                        GenerationParams(max_tokens=100000, temperature=1.0))
for event in reply:
    print(client.pid, pong.renderer_pid, flush=True)
    break
threading.Event().wait()
"""


def test_the_host_and_its_renderer_die_with_the_program_that_started_them(starter_gguf: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(root=str(ROOT), model=str(starter_gguf))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        host_pid, renderer_pid = (int(word) for word in parent.stdout.readline().split())
        assert _alive(host_pid) and _alive(renderer_pid)  # mid-reply, decoding on every core it has
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    _wait_until_gone(host_pid)
    _wait_until_gone(renderer_pid)


def test_cancel_while_a_template_hangs_ends_the_reply_and_the_host_carries_on(llama_client: EngineClient) -> None:
    pid = llama_client.pid
    started = time.monotonic()
    reply = llama_client.generate([{"role": "user", "content": "hi"}], GenerationParams(), template=C_LEVEL_HANGS[0])
    reply.cancel()
    finished = [event for event in reply if isinstance(event, Finished)][-1]
    assert time.monotonic() - started < GENEROUS_S
    assert finished.finish_reason in ("error", "cancelled")
    if finished.finish_reason == "error":
        assert finished.error == TOO_SLOW_MESSAGE
    text, again = llama_client.generate([{"role": "user", "content": FRANCE}], GREEDY).text()
    assert "Paris" in text and llama_client.pid == pid


# --- hosts that break the protocol ----------------------------------------------------------------------

FAKE_HOST = """\
#!{python}
import json, sys, time
mode = {mode!r}
sys.stdout.write(json.dumps({{"id": None, "event": "ready", "pid": 1}}) + "\\n")
sys.stdout.flush()
for line in sys.stdin:
    request = json.loads(line)
    if mode == "array":
        sys.stdout.write("[1, 2, 3]\\n")
    elif mode == "not-json":
        sys.stdout.write("hello there\\n")
    elif mode == "long":
        sys.stdout.write('{{"id": "' + "x" * 2_000_000 + '"}}\\n')
    elif mode == "silent":
        time.sleep(3600)
    sys.stdout.flush()
"""


def fake_host(tmp_path: Path, mode: str) -> str:
    script = tmp_path / f"fake-host-{mode}"
    script.write_text(FAKE_HOST.format(python=sys.executable, mode=mode))
    script.chmod(0o700)
    return str(script)


@pytest.mark.parametrize(
    ("mode", "sentence"),
    [("array", PROTOCOL_ERROR), ("not-json", PROTOCOL_ERROR), ("long", PROTOCOL_ERROR), ("silent", SILENT_ERROR)],
)
def test_a_host_that_breaks_the_protocol_fails_the_request_with_a_sentence(
    mode: str, sentence: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host_client, "MAX_LINE_BYTES", 1_000_000)
    monkeypatch.setattr(host_client, "HOST_SILENCE_SECONDS", 2.0)
    with EngineClient(python=fake_host(tmp_path, mode)) as client:
        started = time.monotonic()
        with pytest.raises(EngineError) as caught:
            client.load("/nowhere.gguf")
        assert str(caught.value) == sentence
        assert time.monotonic() - started < GENEROUS_S
        first = client.pid
        # The broken host is gone; the next request gets a new one rather than a dead reader.
        _, finished = client.generate([{"role": "user", "content": "hi"}], GREEDY).text()
        assert finished.finish_reason == "error" and finished.error == sentence
        assert client.pid != first


def test_a_closed_client_stops_its_host(starter_gguf: Path) -> None:
    client = EngineClient()
    client.load(str(starter_gguf))
    pid = client.pid
    assert pid is not None
    client.close()
    _wait_until_gone(pid)


def test_waiting_on_a_stopped_client_is_an_error_not_a_hang(starter_gguf: Path) -> None:
    client = EngineClient()
    client.load(str(starter_gguf))
    essay = [{"role": "user", "content": "Write a very long essay about rivers."}]
    reply = client.generate(essay, GenerationParams(max_tokens=5000, temperature=1.0))
    client.close()
    started = time.monotonic()
    with pytest.raises(EngineError):
        for _ in reply:
            pass
    assert time.monotonic() - started < GENEROUS_S
