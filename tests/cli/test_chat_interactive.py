"""`parlour chat` without a prompt: a conversation in the terminal, stored like a window chat.

Driven as a person's shell would: the installed console script in a subprocess, lines fed on
stdin, the real llama.cpp engine on the starter model, then the real store read back.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import termios
from collections.abc import Callable
from pathlib import Path

import pytest

from app.store.branches import load_thread
from app.store.conversations import get_conversation, list_recent
from app.store.db import open_store
from app.store.records import Message
from tests.cli.helpers import TIMEOUT_S, one_sentence, run_in

SHORT = ("--temperature", "0", "--max-tokens", "8")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder of the `parlour` runs, and of the store this test reads back."""
    folder = tmp_path / "parlour-home"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


def converse(home: Path, parlour_cmd: list[str], lines: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_in(home, parlour_cmd, "chat", *args, input=lines)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def only_conversation(home: Path) -> int:
    with open_store() as store:
        listed = list_recent(store)
    assert len(listed) == 1, listed
    return listed[0].id


def shown(conversation_id: int) -> list[Message]:
    with open_store() as store:
        return load_thread(store, conversation_id).messages


def test_a_conversation_is_stored_with_its_branch_and_system_prompt(home: Path, parlour_cmd: list[str]) -> None:
    lines = "hello\n/system Be brief.\nwhat is 2+2?\n/regenerate\n/save\n/exit\n"
    result = converse(home, parlour_cmd, lines, *SHORT)
    conversation_id = only_conversation(home)
    assert f"This conversation is stored as {conversation_id};" in result.stdout
    assert "System prompt set." in result.stdout
    with open_store() as store:
        thread = load_thread(store, conversation_id)
        conversation = get_conversation(store, conversation_id)
    assert (conversation.title, conversation.system_prompt) == ("hello", "Be brief.")
    assert conversation.parameters["temperature"] == 0 and conversation.parameters["max_tokens"] == 8
    assert conversation.model == "SmolLM2 135M Instruct (starter)" and conversation.engine == "llamacpp"
    roles = [(m.role, m.content) for m in thread.messages]
    assert [role for role, _ in roles] == ["user", "assistant", "user", "assistant"]
    assert roles[0][1] == "hello" and roles[2][1] == "what is 2+2?"
    first_answer, regenerated = thread.alternatives[thread.messages[3].id]
    assert regenerated == thread.messages[3].id > first_answer  # the new reply is the shown one; the old stays
    for message in thread.messages[1::2]:
        assert message.status == "done" and message.finish_reason in ("stop", "length")
        assert message.stats is not None and message.stats.generated_tokens > 0
        assert message.content and message.content in result.stdout
    # The regenerated reply started from the same prompt as the first answer: the host reused all but its end.
    assert thread.messages[3].stats.cached_tokens > thread.messages[3].stats.prompt_tokens // 2
    listed = run_in(home, parlour_cmd, "conversations")
    assert listed.stdout.startswith(f"{conversation_id}\t") and listed.stdout.rstrip().endswith("\thello")


def test_later_turns_reuse_the_history_the_engine_already_read(home: Path, parlour_cmd: list[str]) -> None:
    converse(home, parlour_cmd, "hello\nwhat is 2+2?\n", *SHORT)
    first, second = shown(only_conversation(home))[1::2]
    assert first.stats.cached_tokens == 0
    assert second.stats.cached_tokens > first.stats.prompt_tokens // 2  # the first turn was not read again


def test_continue_carries_on_a_stored_conversation(home: Path, parlour_cmd: list[str]) -> None:
    converse(home, parlour_cmd, "/system Be brief.\nhello\n", *SHORT, "--context-policy", "stop")
    conversation_id = only_conversation(home)
    # Its system prompt and parameters come with it: no options needed.
    converse(home, parlour_cmd, "what is 2+2?\n", "--continue", str(conversation_id))
    thread = shown(conversation_id)
    assert [m.content for m in thread[::2]] == ["hello", "what is 2+2?"]
    assert thread[3].stats.generated_tokens <= 8 and thread[3].finish_reason in ("stop", "length")
    with open_store() as store:
        kept = get_conversation(store, conversation_id)
    assert (kept.system_prompt, kept.parameters["max_tokens"], kept.parameters["context_policy"]) == (
        "Be brief.",
        8,
        "stop",
    )

    prompt = run_in(home, parlour_cmd, "chat", "--continue", str(conversation_id), "--show-prompt", "and 3+3?")
    assert prompt.returncode == 0, prompt.stderr
    assert prompt.stdout.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>")
    assert f"what is 2+2?<|im_end|>\n<|im_start|>assistant\n{thread[3].content}" in prompt.stdout
    assert prompt.stdout.endswith("<|im_start|>user\nand 3+3?<|im_end|>\n<|im_start|>assistant\n")
    assert len(shown(conversation_id)) == 4  # showing the prompt stores nothing

    # With a PROMPT: that one prompt goes into the conversation; options typed now are stored with it.
    once = run_in(home, parlour_cmd, "chat", "--continue", str(conversation_id), "--system", "Be kind.", "and 3+3?")
    assert once.returncode == 0, once.stderr
    thread = shown(conversation_id)
    assert [m.content for m in thread[::2]] == ["hello", "what is 2+2?", "and 3+3?"]
    assert once.stdout == thread[5].content + "\n"
    assert only_conversation(home) == conversation_id
    with open_store() as store:
        assert get_conversation(store, conversation_id).system_prompt == "Be kind."


def test_an_unknown_conversation_is_one_sentence(home: Path, parlour_cmd: list[str]) -> None:
    missing = one_sentence(run_in(home, parlour_cmd, "chat", "--continue", "999", input="hello\n"))
    assert missing == "There is no conversation with the ID 999."
    not_an_id = one_sentence(run_in(home, parlour_cmd, "chat", "--continue", "tea", "hello"))
    assert not_an_id.startswith("“tea” is not a conversation ID")
    with open_store() as store:
        assert list_recent(store) == []


@pytest.mark.parametrize("option", ["--json", "--show-prompt"])
def test_options_for_one_prompt_need_a_prompt(home: Path, parlour_cmd: list[str], option: str) -> None:
    message = one_sentence(run_in(home, parlour_cmd, "chat", option, input="hello\n"))
    assert message.startswith(f"{option} needs a PROMPT")


def test_odd_lines_get_a_sentence_and_the_conversation_goes_on(home: Path, parlour_cmd: list[str]) -> None:
    result = subprocess.run(
        [*parlour_cmd, "chat", *SHORT],
        input=b"/regenerate\n/save\n/frobnicate\ncaf\xe9\n\nhello\n",
        capture_output=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "PARLOUR_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        "parlour: There is no message to reply to yet.",
        "parlour: There is no command /frobnicate; /help lists them.",
        "parlour: That line is not valid UTF-8 text; type it again in your terminal's UTF-8 mode.",
    ]
    assert result.stdout.decode().startswith("Nothing is stored yet: the conversation is stored with its first")
    assert [m.content for m in shown(only_conversation(home))][0] == "hello"


def test_leaving_before_saying_anything_stores_nothing(home: Path, parlour_cmd: list[str]) -> None:
    for lines in ("", "/exit\n", "/help\n"):
        result = converse(home, parlour_cmd, lines)
        assert "Traceback" not in result.stderr
    assert "/regenerate" in result.stdout  # /help lists the commands
    with open_store() as store:
        assert list_recent(store) == []


def _start(home: Path, parlour_cmd: list[str], *args: str) -> subprocess.Popen[bytes]:
    # A session of its own, so a signal to its group reaches parlour and its engine host as Ctrl+C in a
    # terminal does (the terminal signals the whole foreground group).
    return subprocess.Popen(
        [*parlour_cmd, "chat", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PARLOUR_HOME": str(home)},
        start_new_session=True,
    )


def _read_until(process: subprocess.Popen[bytes], wanted: bytes) -> bytes:
    assert process.stdout is not None
    seen = b""
    while wanted not in seen:
        chunk = process.stdout.read1(4096)
        assert chunk, (seen, process.stderr.read() if process.stderr else b"")
        seen += chunk
    return seen


def test_ctrl_c_stops_the_reply_and_keeps_what_it_said(home: Path, parlour_cmd: list[str]) -> None:
    process = _start(home, parlour_cmd, "--temperature", "0", "--max-tokens", "1000")
    try:
        assert process.stdin is not None
        process.stdin.write(b"Write a very long story about a dragon who learns to bake bread.\n")
        process.stdin.flush()
        begun = _read_until(process, b" ")  # the reply has begun
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(b"Say hello.\n/exit\n", timeout=TIMEOUT_S)
        out = begun + out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert err.decode() == "parlour: Stopped; what the reply said so far is kept.\n"
    stopped, after = shown(only_conversation(home))[1::2]
    assert (stopped.status, stopped.finish_reason, stopped.error) == ("done", "cancelled", None)
    assert stopped.content and stopped.stats.generated_tokens < 1000
    assert out.decode().startswith(stopped.content + "\n")  # what was shown is what was kept
    # The engine host heard no Ctrl+C: the next reply comes from the same host, reusing its cache.
    assert after.finish_reason in ("stop", "length") and after.stats.cached_tokens > 0


def test_ctrl_c_at_the_prompt_leaves(home: Path, parlour_cmd: list[str]) -> None:
    process = _start(home, parlour_cmd)
    try:
        assert process.stdin is not None
        process.stdin.write(b"/save\n")
        process.stdin.flush()
        _read_until(process, b"Nothing is stored yet")  # the next thing it does is wait for a line
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130 and err == b""


def _read_terminal(master: int, done: Callable[[bytes], bool], seen: bytes = b"") -> bytes:
    """What the terminal showed, read until `done` says it holds enough (`seen`: what was read before)."""
    while not done(seen):
        ready, _, _ = select.select([master], [], [], TIMEOUT_S)
        assert ready, seen  # nothing for TIMEOUT_S: a hang fails instead of hanging the suite
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other side is closed: the program ended
            chunk = b""
        assert chunk, seen
        seen += chunk
    return seen


def test_in_a_terminal_ctrl_c_stops_the_reply_and_ctrl_d_leaves(home: Path, parlour_cmd: list[str]) -> None:
    """A real (pseudo-)terminal: the prompt marker, readline, and the keys themselves. The terminal sends
    Ctrl+C's SIGINT to its whole foreground group, the engine host included, as it does for a person."""
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        [*parlour_cmd, "chat", "--temperature", "0", "--max-tokens", "1000"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "PARLOUR_HOME": str(home), "TERM": "dumb"},
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # its controlling terminal, as in a shell
    )
    os.close(terminal)
    try:
        greeting = _read_terminal(master, lambda seen: b">>> " in seen)
        assert b"Chatting with SmolLM2 135M Instruct (starter). /help lists commands." in greeting
        os.write(master, b"Write a very long story about a dragon who learns to bake bread.\r")
        # The line as typed comes back, then the reply: a few characters of it are enough.
        begun = lambda seen: b"bread." in seen and len(seen.split(b"bread.", 1)[1].strip()) > 3  # noqa: E731
        reply = _read_terminal(master, begun)
        os.write(master, b"\x03")  # Ctrl+C while the reply streams
        stopped = b"Stopped; what the reply said so far is kept."
        prompting_again = lambda seen: stopped in seen and b">>> " in seen.split(stopped, 1)[1]  # noqa: E731
        reply = _read_terminal(master, prompting_again, reply)
        os.write(master, b"\x04")  # Ctrl+D at the prompt
        assert process.wait(timeout=TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    (answer,) = shown(only_conversation(home))[1:]
    assert (answer.status, answer.finish_reason, answer.error) == ("done", "cancelled", None)
    assert answer.content and answer.content.replace("\n", "\r\n") in reply.decode()
