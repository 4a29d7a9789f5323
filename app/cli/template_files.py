"""Template files a person names on the command line (`--template`, `templates add|use|preview --file`).

Read where they typed it, refused by type and size before a byte is read (engines.bounded_files):
a FIFO, /dev/zero, a folder or a file of gigabytes is one sentence, never a hang.
"""

from __future__ import annotations

import os


def read_template_file(path: str) -> str:
    """The text of the template file at `path`; raises FileRefusedError (an EngineError) with a sentence."""
    from engines.bounded_files import read_bounded_text
    from engines.templates import MAX_TEMPLATE_CHARS

    return read_bounded_text(os.path.abspath(os.path.expanduser(path)), MAX_TEMPLATE_CHARS, "The template file")


def read_checked_template(path: str | None) -> str | None:
    """The template file at `path`, checked before use (a syntax error names its line); None for no path."""
    from engines.templates import check_template

    if path is None:
        return None
    source = read_template_file(path)
    check_template(source)
    return source
