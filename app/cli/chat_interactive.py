"""`parlour chat` without a prompt: a conversation in the terminal, one line at a time.

Each line is sent with the whole conversation (the engine host reuses the cached prompt
prefix, so later turns do not read the history again) and the reply streams back. Lines
starting with / are commands. Lines come from `input()`, so a terminal gets readline's
history and editing, and piped lines work too, ending at the end of the input.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from app.cli.terminal_text import fail, note, say
from app.store.terminal_text import has_surrogates

if TYPE_CHECKING:
    from app.cli.chat_conversation import StoredChat
    from app.cli.chat_stream import StreamedReply
    from app.store.replies import ReplyWriter
    from engines.host_client import EngineClient

PROMPT_MARKER = ">>> "
LEAVE_COMMANDS = ("/exit", "/quit", "/bye")
HELP = """Commands:
  /regenerate    a new reply to the last message (the old one stays, as another branch)
  /system TEXT   set the system prompt (/system alone clears it)
  /save          say this conversation's ID (it is stored as it goes)
  /help          this list
  /exit          leave (so do Ctrl+D, and Ctrl+C at the prompt)
Ctrl+C while a reply streams stops it; what it said so far is kept."""


class LineReader:
    """The person's lines from stdin: with the prompt marker and readline on a terminal, plain from a pipe."""

    def __init__(self) -> None:
        self.terminal = sys.stdin.isatty()
        reconfigure = getattr(sys.stdin, "reconfigure", None)
        if reconfigure is not None:
            # Bytes that are not UTF-8 arrive as lone surrogates, refused line by line, not as a crash.
            reconfigure(errors="surrogateescape")
        if self.terminal:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (importing it gives input() history and line editing)

    def read(self) -> str:
        """The next line; EOFError at the end of the input (Ctrl+D), KeyboardInterrupt on Ctrl+C."""
        return input(PROMPT_MARKER if self.terminal else "")


class TerminalChat:
    """The loop: read a line, answer it (or run its command), until the person leaves."""

    def __init__(self, client: EngineClient, chat: StoredChat, reader: LineReader) -> None:
        self.client = client
        self.chat = chat
        self.reader = reader
        self._notice_shown = False

    def run(self) -> int:
        if self.reader.terminal:
            model = self.chat.setup.model_label or Path(self.chat.setup.path).name
            carrying_on = f"Carrying on conversation {self.chat.id} with" if self.chat.id else "Chatting with"
            say(f"{carrying_on} {model}. /help lists commands.")
        while True:
            try:
                line = self.reader.read()
            except (EOFError, KeyboardInterrupt) as ending:
                if self.reader.terminal:
                    sys.stdout.write("\n")
                return self._leave(EXIT_OK if isinstance(ending, EOFError) else EXIT_INTERRUPTED)
            if self._handle(line):
                return self._leave(EXIT_OK)

    def _handle(self, line: str) -> bool:
        """Answer one line; True when it asks to leave."""
        from app.store.errors import StoreError

        if has_surrogates(line):
            note("That line is not valid UTF-8 text; type it again in your terminal's UTF-8 mode.")
            return False
        text = line.strip()
        try:
            if text.startswith("/"):
                return self._command(text)
            if text:
                self._reply(self.chat.send(text))
        except StoreError as error:  # a busy or full store: say so, and the person can try again
            note(str(error))
        return False

    def _command(self, text: str) -> bool:
        name, _, rest = text.partition(" ")
        name = name.lower()
        if name in LEAVE_COMMANDS:
            return True
        if name == "/help":
            say(HELP, multiline=True)
        elif name == "/system":
            self.chat.set_system_prompt(rest.strip())
            say("System prompt set." if rest.strip() else "System prompt cleared.")
        elif name == "/save":
            self._say_where_it_is()
        elif name == "/regenerate":
            writer = self.chat.regenerate()
            if writer is None:
                note("There is no message to reply to yet.")
            else:
                self._reply(writer)
        else:
            note(f"There is no command {name}; /help lists them.")
        return False

    def _say_where_it_is(self) -> None:
        if self.chat.id is None:
            say("Nothing is stored yet: the conversation is stored with its first message.")
        else:
            number = self.chat.id
            say(f"This conversation is stored as {number}; `parlour chat --continue {number}` carries it on.")

    def _reply(self, writer: ReplyWriter) -> None:
        from engines.base import EngineError

        self.chat.save_pending()  # a reply a full disk held back goes first, now there may be room
        try:
            streamed = self.chat.stream(self.client, writer, show_notice=not self._notice_shown)
        except EngineError as error:
            note(str(error))
            return
        self._notice_shown = True
        self._after(streamed)

    def _after(self, streamed: StreamedReply) -> None:
        finished = streamed.finished
        if streamed.printed or finished.finish_reason != "error":
            sys.stdout.write("\n\n" if self.reader.terminal else "\n")
            sys.stdout.flush()
        if finished.finish_reason == "error":
            note(finished.error or "The reply failed.")
        elif finished.finish_reason == "cancelled":
            note("Stopped; what the reply said so far is kept.")

    def _leave(self, status: int) -> int:
        problem = self.chat.save_pending()
        return fail(problem, EXIT_FAILED) if problem else status
