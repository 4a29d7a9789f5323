"""`parlour chat`: talk with a model in the terminal.

- `parlour chat PROMPT` streams one reply and exits; nothing is stored.
- `parlour chat` alone is a conversation in the terminal (chat_interactive), stored like a
  window chat; `--continue ID` carries on a stored conversation, and with a PROMPT sends
  that one prompt into it and exits.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from app.cli.chat_documents import add_document_options
from app.cli.chat_setup import add_load_options, add_sampling_options
from app.cli.chat_tools import add_tool_options, tools_reply
from app.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, exit_code_for
from app.cli.terminal_text import fail, json_text, printable

if TYPE_CHECKING:
    from app.cli.chat_setup import ChatSetup
    from app.cli.chat_stream import StreamedReply
    from engines.host_client import EngineClient
    from engines.protocol import PromptRendered


def add_arguments(chat: argparse.ArgumentParser, command: str) -> None:
    chat.description = (
        "Stream a reply to PROMPT, or, without one, talk back and forth in the terminal "
        "(stored like a chat in the window; /help lists the commands)."
    )
    chat.add_argument("prompt", metavar="PROMPT", nargs="?", help="what to ask; leave it out for a conversation")
    chat.add_argument(
        "--continue", dest="continue_id", metavar="ID", help="carry on a stored conversation (`parlour conversations`)"
    )
    chat.add_argument("--model", metavar="REF", help="a local model's name, or a path to a GGUF file or MLX folder")
    chat.add_argument("--engine", choices=["auto", "mlx", "llamacpp"], default="auto")
    chat.add_argument("--system", metavar="TEXT", help="a system prompt")
    chat.add_argument(
        "--context-length",
        type=int,
        help="context window in tokens (default: the model's own, as much as free memory holds)",
    )
    add_sampling_options(chat)
    add_load_options(chat)
    add_format_options(chat)
    add_tool_options(chat)
    add_document_options(chat)
    chat.add_argument("--template", metavar="FILE", help="a Jinja chat template to use instead of the model's")
    chat.add_argument("--thinking", choices=["on", "off"], help="for reasoning models whose template supports it")
    chat.add_argument(
        "--context-policy",
        choices=["drop_oldest", "stop"],
        help="when the conversation outgrows the context window (default drop_oldest)",
    )
    chat.add_argument(
        "--show-prompt",
        action="store_true",
        help="print the exact prompt and which template made it, instead of replying",
    )
    chat.add_argument("--json", action="store_true", help="print one JSON object per line (deltas, then stats)")
    chat.set_defaults(func=cmd_chat)


def add_format_options(chat: argparse.ArgumentParser) -> None:
    """Structured output: the reply is made to match (one of these at a time)."""
    shape = chat.add_mutually_exclusive_group()
    shape.add_argument("--json-schema", metavar="FILE", help="the reply is JSON matching this JSON Schema")
    shape.add_argument("--json-object", action="store_true", help="the reply is a JSON object")
    shape.add_argument("--regex", metavar="PATTERN", help="the reply matches this regular expression")
    shape.add_argument("--choice", action="append", metavar="TEXT", help="the reply is one of these (repeatable)")


def cmd_chat(args: argparse.Namespace) -> int:
    from app.cli.chat_documents import documents_problem, uses_documents
    from app.cli.log_setup import setup_logging
    from app.documents.index import DocumentIndexError
    from app.store.errors import StoreError
    from engines.base import EngineError

    if args.tools and (args.prompt is None or args.continue_id is not None or args.json):
        return fail("--tools works with one PROMPT (not with --continue or --json) for now.")
    if args.prompt is None and (args.json or args.show_prompt):
        option = "--json" if args.json else "--show-prompt"
        return fail(f"{option} needs a PROMPT; the conversation in the terminal prints plain text.")
    if uses_documents(args) and (args.prompt is None or args.continue_id is not None):
        return fail("--docs and --attach work with one PROMPT (not with --continue) for now.")
    engine_log = setup_logging()
    try:
        problem = documents_problem(args) if uses_documents(args) else None
        if problem:
            return fail(problem, EXIT_BAD_INPUT)
        if args.prompt is not None and args.continue_id is None:
            return _one_shot(args, engine_log)
        return _stored_chat(args, engine_log)
    except (EngineError, StoreError) as err:
        return fail(str(err), exit_code_for(err))
    except DocumentIndexError as err:
        return fail(str(err), EXIT_FAILED)


def load_model(client: EngineClient, setup: ChatSetup) -> None:
    """Start the engine host (deaf to Ctrl+C, which the reply's cancel handles) and load the model."""
    from app.cli.chat_stream import interrupts_ignored
    from engines.base import LoadSettings
    from engines.protocol import PingRequest

    with interrupts_ignored():
        client.submit(PingRequest(), lambda event: None)  # starts the host now, while SIGINT is ignored
    settings = setup.load_settings or LoadSettings(context_length=setup.context_length, **setup.load_options)
    client.load(str(setup.path), setup.engine, settings)


def _one_shot(args: argparse.Namespace, engine_log: str | None) -> int:
    """`parlour chat PROMPT`: one reply streamed to the terminal; nothing is stored. With --docs or
    --attach, the engine sees the documents' passages before the question, and the sources follow."""
    from app.cli.chat_documents import citations_record, print_sources, with_question_documents
    from app.cli.chat_setup import prepare_chat
    from app.cli.chat_stream import interrupts_ignored, stream_reply
    from engines.host_client import EngineClient

    setup = prepare_chat(args)
    messages = setup.first_messages(args.prompt)
    with EngineClient(log_file=engine_log) as client:
        load_model(client, setup)
        asked = setup.load_settings.context_length if setup.load_settings else None
        context_length = asked or (client.model.context_length if client.model else None)
        messages, documents = with_question_documents(args, messages, context_length)
        if args.show_prompt:
            return show_prompt(client.render(messages, setup.params, setup.template, setup.template_vars), args.json)
        if args.tools:
            return tools_reply(args, client, setup, messages)
        with interrupts_ignored():
            reply = client.generate(messages, setup.params, setup.template, setup.template_vars)
        status = report_reply(stream_reply(reply, as_json=args.json), args.json, client, citations_record(documents))
        if not args.json:
            print_sources(documents)
        return status


def _stored_chat(args: argparse.Namespace, engine_log: str | None) -> int:
    """A conversation in the store: the terminal conversation, or one PROMPT sent with --continue."""
    from app.cli.chat_conversation import StoredChat
    from app.cli.chat_interactive import LineReader, TerminalChat
    from app.cli.chat_setup import prepare_chat
    from app.cli.conversations import conversation_id
    from app.cli.store_access import opened_store
    from app.store.conversations import get_conversation
    from engines.host_client import EngineClient

    with opened_store() as store:
        conversation = None
        if args.continue_id is not None:
            conversation = get_conversation(store, conversation_id(args.continue_id))
        setup = prepare_chat(args, conversation, store)
        chat = StoredChat(store, setup, conversation)
        with EngineClient(log_file=engine_log) as client:
            load_model(client, setup)
            chat.engine = client.engine
            if args.show_prompt:  # the prompt the stored conversation would send next; nothing is stored
                messages = [*chat.engine_messages(), {"role": "user", "content": args.prompt}]
                return show_prompt(
                    client.render(messages, setup.params, setup.template, setup.template_vars), args.json
                )
            chat.keep_settings(conversation)
            if args.prompt is None:
                return TerminalChat(client, chat, LineReader()).run()
            streamed = chat.stream(client, chat.send(args.prompt), as_json=args.json)
            status = report_reply(streamed, args.json, client, {"conversation_id": chat.id})
            problem = chat.save_pending()
            return fail(problem, EXIT_FAILED) if problem else status


def report_reply(
    streamed: StreamedReply, as_json: bool, client: EngineClient, extra: dict[str, Any] | None = None
) -> int:
    """End a streamed one-prompt reply: the stats line (--json) or a newline, and the exit status."""
    from engines.base import USER_INPUT_CODES

    finished = streamed.finished
    if as_json:
        record = {
            "finish_reason": finished.finish_reason,
            "error": finished.error,
            "engine": client.engine,
            "model": client.model.name if client.model else None,
            **finished.stats.to_dict(),
            **(extra or {}),
        }
        print(json_text(record))
    elif streamed.printed or finished.finish_reason != "error":  # a failure before any text leaves stdout empty
        sys.stdout.write("\n")
        sys.stdout.flush()
    if finished.finish_reason == "error":
        # A hostile template or an impossible setting is the person's to fix (2); a crash is ours (1).
        status = EXIT_BAD_INPUT if finished.error_code in USER_INPUT_CODES else EXIT_FAILED
        return fail(finished.error or "The reply failed.", status)
    if finished.finish_reason == "cancelled":
        return EXIT_INTERRUPTED
    return EXIT_OK


def show_prompt(prompt: PromptRendered, as_json: bool) -> int:
    """--show-prompt: the exact prompt on stdout, which template made it (and how many tokens) on stderr."""
    if as_json:
        fields = ("template_source", "notice", "tokens", "dropped_turns", "text")
        print(json_text({name: getattr(prompt, name) for name in fields}))
        return EXIT_OK
    source = {"model": "the model's own template", "override": "your template"}.get(
        prompt.template_source, f"Parlour's built-in {str(prompt.template_source).split(':')[-1]} template"
    )
    print(f"# Template: {printable(source)}; {printable(prompt.tokens)} tokens", file=sys.stderr)
    if prompt.notice:
        print(f"# {printable(prompt.notice)}", file=sys.stderr)
    sys.stdout.write(prompt.text)
    sys.stdout.flush()
    return EXIT_OK
