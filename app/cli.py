"""`parlour ...`: argument parsing and the terminal faces.

Imports nothing heavy at top level: `parlour --help` and `--version` must stay
instant, and the window's first paint must not wait for mlx or llama_cpp.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from app import __version__
from app.log_setup import log_problem, logging_to_file, setup_logging
from app.terminal_text import EXIT_BAD_INPUT, EXIT_FAILED, exit_code_for, fail, json_text, printable
from engines.base import USER_INPUT_CODES

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "build_parser", "fail", "main", "setup_logging"]


def _add_sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--temperature", type=float, help="randomness, 0 for greedy (default 0.7)")
    parser.add_argument("--top-p", type=float, help="nucleus sampling cut-off (default 0.95)")
    parser.add_argument("--top-k", type=int, help="sample among the k likeliest tokens, 0 for off (default 40)")
    parser.add_argument("--min-p", type=float, help="drop tokens below this share of the likeliest (default 0.05)")
    parser.add_argument("--repeat-penalty", type=float, help="penalty for repeated tokens (default 1.1)")
    parser.add_argument("--max-tokens", type=int, help="longest reply in tokens (default 1024)")
    parser.add_argument("--seed", type=int, help="random seed for a repeatable reply")
    parser.add_argument("--stop", action="append", default=[], help="stop the reply at this text (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parlour",
        description="Private, offline chat with language models on your own computer. "
        "With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"parlour {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser("chat", help="stream a reply to one prompt in the terminal")
    chat.add_argument("prompt", metavar="PROMPT", help="what to ask")
    chat.add_argument("--model", metavar="REF", help="a local model's name, or a path to a GGUF file or MLX folder")
    chat.add_argument("--engine", choices=["auto", "mlx", "llamacpp"], default="auto")
    chat.add_argument("--system", metavar="TEXT", help="a system prompt")
    chat.add_argument("--context-length", type=int, help="context window in tokens (default: the model's, max 8192)")
    _add_sampling_options(chat)
    chat.add_argument("--template", metavar="FILE", help="a Jinja chat template to use instead of the model's")
    chat.add_argument("--thinking", choices=["on", "off"], help="for reasoning models whose template supports it")
    chat.add_argument(
        "--context-policy",
        choices=["drop_oldest", "stop"],
        default="drop_oldest",
        help="when the conversation outgrows the context window",
    )
    chat.add_argument(
        "--show-prompt",
        action="store_true",
        help="print the exact prompt and which template made it, instead of replying",
    )
    chat.add_argument("--json", action="store_true", help="print one JSON object per line (deltas, then stats)")
    chat.set_defaults(func=cmd_chat)

    models = sub.add_parser("models", help="list the models on this machine; search, download, import, rm, unhide")
    models.add_argument("--json", action="store_true")
    models.add_argument("--hidden", action="store_true", help="list only the models you hid (`parlour models unhide`)")
    models.set_defaults(func=cmd_models)
    register_models_subcommands(models)

    doctor = sub.add_parser("doctor", help="what this machine offers: memory, GPU, engine versions")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)

    from app.store.commands import add_store_commands  # light: argparse wiring only

    add_store_commands(sub)
    from app.template_commands import add_template_commands

    add_template_commands(sub)
    return parser


def register_models_subcommands(models: argparse.ArgumentParser) -> None:
    """`parlour models search|download|import|rm`; `parlour models` alone still lists."""
    from app.models_cli import add_models_subcommands

    add_models_subcommands(models)


# --- chat ---------------------------------------------------------------------------------------------


def params_from_args(args: argparse.Namespace) -> Any:
    from engines.base import GenerationParams

    values: dict[str, Any] = {}
    for name in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.stop:
        values["stop"] = tuple(args.stop)
    if getattr(args, "context_policy", None):
        values["context_policy"] = args.context_policy
    return GenerationParams(**values)


def read_template_file(path: str) -> str:
    """A template file the person named, read where they typed it: refused by type and size before reading.

    A FIFO, /dev/zero, a folder or a file of gigabytes is one sentence (FileRefusedError), never a hang.
    """
    from engines.bounded_files import read_bounded_text
    from engines.templates import MAX_TEMPLATE_CHARS

    return read_bounded_text(os.path.abspath(os.path.expanduser(path)), MAX_TEMPLATE_CHARS, "The template file")


def read_template(path: str | None) -> str | None:
    """A user's template file, checked before use: syntax errors name their line."""
    from engines.templates import check_template

    if path is None:
        return None
    source = read_template_file(path)
    check_template(source)
    return source


def cmd_chat(args: argparse.Namespace) -> int:
    from app.library.catalog import resolve_model
    from engines.base import Delta, EngineError, Finished, LoadSettings, Started
    from engines.host import choose_engine
    from engines.host_client import EngineClient
    from engines.inspect import inspect_model

    engine_log = setup_logging()
    try:
        params = params_from_args(args)
        path = resolve_model(args.model)
        info = inspect_model(path)  # header checks here: a bad file fails fast, before any engine starts
        choose_engine(info.engine, args.engine)
        _check_context_length(args.context_length, info.context_length)
        template = read_template(args.template)
        if template is None:
            from app.template_commands import override_for

            template = override_for(path)
    except EngineError as err:
        return fail(str(err), exit_code_for(err))
    template_vars = {"enable_thinking": args.thinking == "on"} if args.thinking else None

    messages = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    with EngineClient(log_file=engine_log) as client:
        try:
            client.load(str(path), args.engine, LoadSettings(context_length=args.context_length))
            if args.show_prompt:
                return _show_prompt(client.render(messages, params, template, template_vars), args.json)
            reply = client.generate(messages, params, template, template_vars)
            finished: Finished | None = None
            printed = False
            try:
                for event in reply:
                    if isinstance(event, Finished):
                        finished = event
                    elif isinstance(event, Delta):
                        _print_delta(event, args.json)
                        printed = True
                    elif isinstance(event, Started) and event.notice:
                        print(f"parlour: {printable(event.notice)}", file=sys.stderr)
            except KeyboardInterrupt:
                reply.cancel()
                for event in reply:
                    if isinstance(event, Finished):
                        finished = event
        except EngineError as err:
            return fail(str(err), exit_code_for(err))
        if finished is None:
            return fail("The engine stopped without finishing the reply; details are in the log.", EXIT_FAILED)
        if args.json:
            print(
                json_text(
                    {
                        "finish_reason": finished.finish_reason,
                        "error": finished.error,
                        "engine": client.engine,
                        "model": client.model.name if client.model else None,
                        **finished.stats.to_dict(),
                    }
                )
            )
        elif printed or finished.finish_reason != "error":  # a failure before any text leaves stdout empty
            sys.stdout.write("\n")
            sys.stdout.flush()
        if finished.finish_reason == "error":
            # A hostile template or an impossible setting is the person's to fix (2); a crash is ours (1).
            status = EXIT_BAD_INPUT if finished.error_code in USER_INPUT_CODES else EXIT_FAILED
            return fail(finished.error or "The reply failed.", status)
        if finished.finish_reason == "cancelled":
            return 130
    return 0


def _check_context_length(wanted: int | None, trained: int | None) -> None:
    """Refuse a context window beyond what the model was trained for, before an engine tries to allocate it."""
    from engines.base import InvalidRequestError

    if wanted is not None and trained and wanted > trained:
        raise InvalidRequestError(
            f"The context length {wanted:,} is more than this model supports ({trained:,} tokens); "
            "choose at most that, or leave --context-length out."
        )


def _print_delta(delta: Any, as_json: bool) -> None:
    if as_json:
        record = {"delta": delta.text, "reasoning": True} if delta.reasoning else {"delta": delta.text}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif delta.reasoning:
        sys.stderr.write(delta.text)  # thinking goes beside the answer, not into it
        sys.stderr.flush()
        return
    else:
        sys.stdout.write(delta.text)
    sys.stdout.flush()


def _show_prompt(prompt: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json_text({k: prompt.get(k) for k in ("template_source", "notice", "tokens", "dropped_turns", "text")}))
        return 0
    source = {"model": "the model's own template", "override": "your template"}.get(
        prompt["template_source"], f"Parlour's built-in {str(prompt['template_source']).split(':')[-1]} template"
    )
    print(f"# Template: {printable(source)}; {printable(prompt['tokens'])} tokens", file=sys.stderr)
    if prompt.get("notice"):
        print(f"# {printable(prompt['notice'])}", file=sys.stderr)
    sys.stdout.write(prompt["text"])
    sys.stdout.flush()
    return 0


# --- models and doctor ----------------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    from app.library.catalog import list_hidden_models, list_local_models
    from app.library.errors import LibraryError

    try:
        models = list_hidden_models() if args.hidden else list_local_models()
    except LibraryError as err:
        return fail(str(err), EXIT_FAILED)
    if args.json:
        # The listed name (the one `models rm` and `unhide` take) wins over the file's own name.
        print(
            json_text(
                [
                    {
                        **(m.info.to_dict() if m.info else {}),
                        "name": m.name,
                        "path": str(m.path),
                        "origin": m.origin,
                        "problem": m.problem,
                        "hidden": m.hidden,
                    }
                    for m in models
                ],
                default=str,
                indent=1,
            )
        )
        return 0
    if not models:
        print("No model is hidden." if args.hidden else "No models found. The starter model comes with `make run`.")
        return 0
    for m in models:
        print(_model_entry(m))
    if args.hidden:
        print("`parlour models unhide NAME` shows one in the list again.")
    return 0


def _model_entry(m: Any) -> str:
    """Three lines for one model; every part that comes from a file is made printable."""
    from engines.inspect import human_size

    name, where = printable(m.name), f"{printable(m.origin)}: {printable(m.path)}"
    if m.info is None:
        return f"{name}\n    unusable: {printable(m.problem)}\n    {where}"
    params = f"{m.info.parameter_count / 1e6:.0f}M params" if m.info.parameter_count else "? params"
    ctx = f"{m.info.context_length} ctx" if m.info.context_length else ""
    kind = printable(f"{m.info.engine}, {m.info.format.upper()} {m.info.quantization or ''}")
    return f"{name}\n    {kind}, {human_size(m.info.file_size)}, {params} {ctx}\n    {where}"


def cmd_doctor(args: argparse.Namespace) -> int:
    from app.qt_libraries import install_advice, missing_window_libraries
    from engines.hardware import probe
    from engines.inspect import human_size

    report = probe(load_engines=True)
    missing = missing_window_libraries()
    if args.json:
        print(json_text({**report.to_dict(), "window_missing_libraries": missing}, indent=1))
        return 0
    mem = lambda n: human_size(n) if n else "unknown"  # noqa: E731
    lines = [
        f"System:        {report.os} ({report.machine})",
        f"Chip:          {report.chip}, {report.cores} cores",
        f"Memory:        {mem(report.total_memory_bytes)} total, {mem(report.available_memory_bytes)} available",
        f"Apple Silicon: {'yes (unified memory, Metal)' if report.apple_silicon else 'no'}",
    ]
    if report.cuda_devices:
        for dev in report.cuda_devices:
            lines.append(
                f"CUDA:          {dev['name']}, {mem(dev['total_memory_bytes'])} ({mem(dev['free_memory_bytes'])} free)"
            )
    else:
        lines.append("CUDA:          none")
    offload = {True: "GPU offload available", False: "CPU only", None: "not installed"}[report.llamacpp_gpu_offload]
    lines.append(f"llama.cpp:     llama-cpp-python {report.versions.get('llama-cpp-python') or '-'} ({offload})")
    versions = report.versions
    lines.append(
        f"MLX:           mlx {versions.get('mlx') or '-'}, mlx-lm {versions.get('mlx-lm') or '-'}"
        f" (device: {report.mlx_device or 'unavailable'})"
    )
    lines.append(f"Python:        {report.versions.get('python')}")
    if missing:
        lines.append(f"Window:        {install_advice(missing)}")
    lines.extend(f"Note:          {note}" for note in report.notes)
    print(printable("\n".join(lines), multiline=True))
    return 0


# --- the window -----------------------------------------------------------------------------------------


def display_problem() -> str | None:
    """Why no window can open here, or None. Checked before Qt, which would abort instead."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform.split(":")[0] != "xcb":
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "No display was found (DISPLAY is not set), so the window cannot open; run Parlour in a desktop "
            "session, or under a virtual screen with `xvfb-run parlour`, or use `parlour chat PROMPT`."
        )
    return None


def open_window(argv: list[str]) -> int:
    problem = display_problem()
    if problem:
        return fail(problem)
    from app.qt_libraries import window_libraries_problem

    missing = window_libraries_problem()  # before Qt, which would print a page about plugins and abort
    if missing:
        return fail(missing, EXIT_FAILED)
    engine_log = setup_logging()
    from app.ui.app import run_app

    return run_app(argv, engine_log)


def _quiet_stdout() -> None:
    """After the reader of a pipe went away (`parlour models | head -1`): no second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()  # first, for every command: whatever fails below leaves its traceback in the log
    from app.argument_checks import argument_problem

    problem = argument_problem(parser, args)
    if problem:
        return fail(problem)
    try:
        if not getattr(args, "command", None):
            return open_window(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_FAILED
    except Exception as err:  # last resort: a sentence on screen, the traceback in the log
        logging.getLogger("parlour").exception("command failed")
        return fail(_last_resort_sentence(err), EXIT_FAILED)


def _last_resort_sentence(err: Exception) -> str:
    """What to say about a failure no command foresaw: the log has the rest, if there is a log."""
    problem = log_problem()
    if problem and isinstance(err, OSError):
        return problem  # most likely the same unusable data folder
    detail = printable(str(err))[:300]
    where = "details are in the log" if logging_to_file() else "no log could be written either"
    return f"Something went wrong ({err.__class__.__name__}: {detail}); {where}."


if __name__ == "__main__":
    sys.exit(main())
