"""`parlour docs add --embedding-model`, `parlour docs embed`, and search and chat by meaning too, run as a
person runs them, with the starter model standing in for an embedding model (llama.cpp, mean pooling)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import one_sentence, run_in

TARGET = (
    "To get back into your account after losing the passphrase, open Settings, choose Security and follow "
    "the recovery steps."
)
QUESTION = "How do I reset my forgotten password?"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "account.txt").write_text(TARGET)
    (docs / "oven.txt").write_text("Reset the oven timer after the bread comes out of the oven.")
    (docs / "train.txt").write_text("The night train to Vienna leaves platform four at eleven.")
    return docs


def _docs(home: Path, cmd: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_in(home, cmd, "docs", *args)


def _listed(home: Path, cmd: list[str]) -> dict:
    [listed] = json.loads(_docs(home, cmd, "list", "--json").stdout)
    return listed


def test_a_collection_with_an_embedding_model(
    private_home: Path, parlour_cmd: list[str], folder: Path, starter_gguf: Path
) -> None:
    home = private_home / "parlour"
    added = _docs(home, parlour_cmd, "add", folder, "--collection", "help", "--embedding-model", starter_gguf)
    assert added.returncode == 0, added.stderr
    assert "help: 3 added, 0 changed, 0 removed, 0 unchanged, 0 problems, 3 passages embedded" in added.stderr
    assert "Embedding 3 of 3 passages" in added.stderr
    listed = _listed(home, parlour_cmd)
    assert (listed["embedding_model"], listed["vectors"], listed["passages"]) == (str(starter_gguf), 3, 3)
    plain = _docs(home, parlour_cmd, "list").stdout
    assert f"  embeddings: {starter_gguf.name} (3 of 3 passages have vectors)\n" in plain

    found = _docs(home, parlour_cmd, "search", QUESTION, "--collection", "help", "--json")
    assert found.returncode == 0, found.stderr
    texts = [record["text"] for record in json.loads(found.stdout)]
    assert TARGET in texts  # words alone find only the oven's timer
    everywhere = _docs(home, parlour_cmd, "search", QUESTION, "--json")
    assert TARGET in [record["text"] for record in json.loads(everywhere.stdout)]

    forgotten = _docs(home, parlour_cmd, "embed", "help", "--no-embeddings")
    assert forgotten.returncode == 0, forgotten.stderr
    assert (_listed(home, parlour_cmd)["vectors"], _listed(home, parlour_cmd)["embedding_model"]) == (0, None)
    words = _docs(home, parlour_cmd, "search", QUESTION, "--collection", "help", "--json")
    assert TARGET not in [record["text"] for record in json.loads(words.stdout)]

    embedded = _docs(home, parlour_cmd, "embed", "help", "--model", starter_gguf)
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout == f"help: 3 passages embedded with {starter_gguf.name}.\n"
    assert _listed(home, parlour_cmd)["vectors"] == 3


def test_chat_with_docs_uses_the_vectors(
    private_home: Path, parlour_cmd: list[str], folder: Path, starter_gguf: Path
) -> None:
    home = private_home / "parlour"
    assert (
        _docs(home, parlour_cmd, "add", folder, "--collection", "help", "--embedding-model", starter_gguf).returncode
        == 0
    )
    shown = run_in(home, parlour_cmd, "chat", "--model", starter_gguf, "--docs", "help", "--show-prompt", QUESTION)
    assert shown.returncode == 0, shown.stderr
    assert TARGET in shown.stdout


def test_embedding_models_that_cannot_embed_are_refused(
    private_home: Path, parlour_cmd: list[str], folder: Path, mlx_dir: Path
) -> None:
    home = private_home / "parlour"
    refused = _docs(home, parlour_cmd, "add", folder, "--collection", "help", "--embedding-model", mlx_dir)
    assert "embeddings need a GGUF model on llama.cpp" in one_sentence(refused)
    assert json.loads(_docs(home, parlour_cmd, "list", "--json").stdout) == []  # nothing was made
    assert _docs(home, parlour_cmd, "add", folder, "--collection", "help").returncode == 0
    assert "has no embedding model" in one_sentence(_docs(home, parlour_cmd, "embed", "help"))
    assert "no collection called 'nowhere'" in one_sentence(_docs(home, parlour_cmd, "embed", "nowhere"))
    missing = one_sentence(_docs(home, parlour_cmd, "embed", "help", "--model", home / "absent.gguf"))
    assert "absent.gguf" in missing
