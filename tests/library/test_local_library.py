"""The local library: models found in other programs' folders (built here as those programs lay them out),
imports, deletes and hiding."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from app.library.catalog import find_local_model, list_local_models, resolve_model
from app.library.errors import ImportRefusedError
from app.library.model_files import delete_model, import_model
from app.library.settings import models_folder, set_models_folder
from tests.library.helpers import build_hf_cache, build_lm_studio, build_ollama, link, models_root


def test_models_of_other_programs_are_listed_with_their_origin(private_home: Path, starter_gguf: Path,
                                                                mlx_dir: Path) -> None:  # fmt: skip
    build_hf_cache(private_home, starter_gguf, mlx_dir)
    build_lm_studio(private_home, starter_gguf)
    build_ollama(private_home, starter_gguf)
    listed = {(m.origin, m.name): m for m in list_local_models()}
    assert set(listed) == {
        ("starter", "SmolLM2 135M Instruct (starter)"),
        ("Hugging Face cache", "bartowski/SmolLM2-135M-Instruct-GGUF"),
        ("Hugging Face cache", "mlx-community/SmolLM2-135M-Instruct"),
        ("LM Studio", "lmstudio-community/SmolLM2-135M-Instruct-GGUF · SmolLM2-135M-Instruct-Q4_1.gguf"),
        ("Ollama", "smollm2:135m"),
    }
    for model in listed.values():
        assert model.info is not None, model.problem
    assert listed[("Hugging Face cache", "mlx-community/SmolLM2-135M-Instruct")].engine == "mlx"
    ollama = listed[("Ollama", "smollm2:135m")]
    assert ollama.info.format == "gguf" and ollama.path.name.startswith("sha256-")  # used in place
    assert ollama.size == starter_gguf.stat().st_size


def test_hf_home_and_ollama_models_variables_are_honoured(private_home: Path, starter_gguf: Path, mlx_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    elsewhere = private_home / "elsewhere"
    build_hf_cache(elsewhere, starter_gguf, mlx_dir)
    build_ollama(elsewhere, starter_gguf)
    origins = lambda: sorted(m.origin for m in list_local_models())  # noqa: E731
    assert origins() == ["starter"]
    monkeypatch.setenv("HF_HUB_CACHE", str(elsewhere / ".cache" / "huggingface" / "hub"))
    monkeypatch.setenv("OLLAMA_MODELS", str(elsewhere / ".ollama" / "models"))
    assert origins() == ["Hugging Face cache", "Hugging Face cache", "Ollama", "starter"]


def test_other_programs_models_are_hidden_never_deleted(private_home: Path, starter_gguf: Path) -> None:
    build_lm_studio(private_home, starter_gguf)
    model = next(m for m in list_local_models() if m.origin == "LM Studio")
    removal = delete_model(model)
    assert not removal.deleted and removal.freed_bytes == 0
    assert removal.message == f"{model.name} belongs to LM Studio, so Parlour hid it and left its files alone."
    assert model.path.exists()
    assert all(m.origin != "LM Studio" for m in list_local_models())
    assert any(m.origin == "LM Studio" for m in list_local_models(include_hidden=True))
    starter = find_local_model("SmolLM2 135M Instruct (starter)")
    assert "comes with Parlour" in delete_model(starter).message and starter.path.exists()


def test_import_a_gguf_then_delete_it_with_the_space_freed(tmp_path: Path, starter_gguf: Path) -> None:
    source = tmp_path / "downloads" / "my-model.Q4_1.gguf"
    source.parent.mkdir()
    shutil.copyfile(starter_gguf, source)
    placed = import_model(source)
    assert placed == models_root() / "imported" / "my-model.Q4_1" / "my-model.Q4_1.gguf"
    assert placed.stat().st_ino == source.stat().st_ino  # same disk: linked, not copied
    model = find_local_model("my-model.Q4_1")
    assert model.origin == "models folder" and model.deletable and model.info.quantization == "Q4_1"
    assert resolve_model("my-model.Q4_1") == placed
    # While the original exists the linked copy frees nothing; say so honestly.
    assert delete_model(model).freed_bytes == 0
    assert not placed.exists() and not (models_root() / "imported").exists()
    second = find_local_model(str(import_model(source)))
    source.unlink()
    removal = delete_model(second)
    assert removal.deleted and removal.freed_bytes == starter_gguf.stat().st_size
    assert removal.message == f"Deleted {second.name}; 98.4 MB freed."


def test_import_an_mlx_folder_twice_and_refuse_a_bad_file(mlx_dir: Path, bad_models: dict) -> None:
    first, second = import_model(mlx_dir), import_model(mlx_dir)
    assert first.name == mlx_dir.name and second.name == mlx_dir.name + "-2"
    assert (second / "config.json").exists() and not list(models_root().rglob("*.part"))
    names = [m.name for m in list_local_models() if m.origin == "models folder"]
    assert names == [f"imported/{mlx_dir.name}", f"imported/{mlx_dir.name}-2"]
    for case in ("truncated_half", "mlx_with_code"):
        path, phrase = bad_models[case]
        with pytest.raises(ImportRefusedError, match=re.escape(phrase)):
            import_model(path)


def test_the_models_folder_can_move(tmp_path: Path, starter_gguf: Path) -> None:
    chosen = tmp_path / "big-disk" / "models"
    set_models_folder(chosen)
    assert models_folder() == chosen.resolve()
    placed = import_model(starter_gguf)
    assert placed.is_relative_to(chosen)
    assert [m.path for m in list_local_models() if m.origin == "models folder"] == [placed]


def test_other_programs_models_parlour_cannot_run_are_left_out(private_home: Path, starter_gguf: Path) -> None:
    snapshot = private_home / ".cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/x"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (snapshot / "model.safetensors").write_bytes(b"\0" * 16)
    (snapshot / "tokenizer.json").write_text("{}")
    link(starter_gguf, snapshot / "also-a.Q4_1.gguf")  # a GGUF beside an unusable folder still counts
    listed = [(m.origin, m.name, m.info is not None) for m in list_local_models()]
    assert ("Hugging Face cache", "sentence-transformers/all-MiniLM-L6-v2 · also-a.Q4_1.gguf", True) in listed
    assert all(usable for _, _, usable in listed)
