"""The log file in the data folder: where tracebacks go instead of the terminal or a dialog.

Every command configures it first thing, so "details are in the log" is always true.
Records are scrubbed before they are written: huggingface_hub and httpx log signed
download URLs whose query strings grant access, and a token must never reach a file.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_FILE = "parlour.log"
ENGINE_LOG_FILE = "engine.log"
# Libraries that log every request with its full URL at INFO.
CHATTY_LOGGERS = ("httpx", "httpcore", "urllib3", "huggingface_hub")

_URL_QUERY = re.compile(r"(https?://[^\s?#'\"<>]*)[?#][^\s'\"<>]*", re.IGNORECASE)
_SECRETS = (
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), "hf_[redacted]"),
    (re.compile(r"(\bBearer\s+)[^\s'\",]+", re.IGNORECASE), r"\1[redacted]"),
    (
        re.compile(r"(\b(?:authorization|token|api[_-]?key|password)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+", re.IGNORECASE),
        r"\1[redacted]",
    ),
)

_handler: logging.Handler | None = None
_problem: str | None = None  # why no log file could be written, as a sentence


def redact(text: str) -> str:
    """`text` without URL query strings or fragments, and with tokens blanked out."""
    text = _URL_QUERY.sub(r"\1?[redacted]", text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _private_file(path: Path) -> None:
    """Create the log file readable by its owner only (it may name the user's files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)


def setup_logging() -> str | None:
    """Send every record of INFO and above to the data folder's logs/parlour.log, scrubbed.

    Returns the path for the engine host's log, or None when no log file can be written
    (an unwritable data folder): then there is no log to point the user to.
    Calling it again changes nothing.
    """
    global _handler, _problem
    try:
        from app.paths import log_dir

        folder = log_dir()
        if _handler is None:
            path = folder / LOG_FILE
            _private_file(path)
            handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            handler.addFilter(RedactingFilter())
            root = logging.getLogger()
            root.addHandler(handler)
            root.setLevel(logging.INFO)
            for name in CHATTY_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
            _handler = handler
        _problem = None
        return str(folder / ENGINE_LOG_FILE)
    except OSError as err:
        _problem = data_folder_problem(err)
        if not logging.getLogger().handlers:
            # Without this, logging's last resort would print tracebacks on the terminal.
            logging.getLogger().addHandler(logging.NullHandler())
        return None


def data_folder_problem(err: OSError) -> str:
    """The sentence for a data folder Parlour cannot use (PARLOUR_HOME names a file, a read-only disk...)."""
    where = f" {err.filename}" if err.filename else ""
    return (
        f"Parlour cannot write to its data folder{where} ({err.strerror or err.__class__.__name__}); "
        "point PARLOUR_HOME at a folder you can write to, or free some disk space."
    )


def logging_to_file() -> bool:
    """Whether setup_logging found a log file to write to."""
    return _handler is not None


def log_problem() -> str | None:
    """Why the last setup_logging could not open the log file (one sentence), or None."""
    return _problem
