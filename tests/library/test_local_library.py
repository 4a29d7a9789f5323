"""The local library: models found in other programs' folders (built here as those programs lay them out),
imports, deletes and hiding."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from app.library.catalog import find_local_model, list_hidden_models, list_local_models, resolve_model
from app.library.errors import ImportRefusedError, LibraryError
from app.library.model_files import delete_model, import_model, unhide
from app.library.settings import hidden_models, models_folder, set_models_folder
from engines.base import ModelFileError
from tests.library.helpers import build_hf_cache, build_lm_studio, build_ollama, link, models_root


def test_models_of_other_programs_are_listed_with_their_origin(
    private_home: Path, starter_gguf: Path, mlx_dir: Path
) -> None:
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


def test_hf_home_and_ollama_models_variables_are_honoured(
    private_home: Path, starter_gguf: Path, mlx_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_an_empty_name_or_path_matches_no_model(blank: str) -> None:
    with pytest.raises(ModelFileError, match="The model name is empty"):
        find_local_model(blank)
    with pytest.raises(ModelFileError, match="The model name is empty"):
        resolve_model(blank)
    with pytest.raises(ImportRefusedError, match="The path to import is empty"):
        import_model(blank)
    assert not (models_root() / "imported").exists()


def test_a_relative_path_resolves_against_the_current_folder(
    tmp_path: Path, starter_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.gguf").hardlink_to(starter_gguf)
    monkeypatch.chdir(tmp_path)
    assert resolve_model("sub/m.gguf") == tmp_path / "sub" / "m.gguf"
    assert resolve_model("./gone.gguf") == tmp_path / "gone.gguf"  # absolute, so the error can name it


def test_hidden_models_are_listed_apart_and_can_be_unhidden(private_home: Path, starter_gguf: Path) -> None:
    build_lm_studio(private_home, starter_gguf)
    lm_studio = next(m for m in list_local_models() if m.origin == "LM Studio")
    delete_model(lm_studio)
    delete_model(find_local_model("starter"))
    hidden = list_hidden_models()
    assert {m.origin for m in hidden} == {"LM Studio", "starter"} and all(m.hidden for m in hidden)
    assert list_local_models() == []
    assert not any(m.hidden for m in list_local_models(include_hidden=False))
    with pytest.raises(ModelFileError, match="matches several models"):
        unhide("SmolLM2")
    assert unhide("starter") == "SmolLM2 135M Instruct (starter) is back in the list of models."
    assert [m.origin for m in list_local_models()] == ["starter"]
    with pytest.raises(ModelFileError, match="is not hidden"):
        unhide("starter")
    # A hidden model whose file has gone can still be taken off the hidden list, by its path.
    shutil.rmtree(private_home / ".lmstudio")
    assert list_hidden_models() == []
    assert unhide(str(lm_studio.path)) == f"{lm_studio.path} is no longer hidden."
    assert hidden_models() == set()


def test_odd_files_in_other_programs_folders_never_break_the_listing(private_home: Path, starter_gguf: Path) -> None:
    """A FIFO as LM Studio's home pointer or a cache's refs/main, a hand-edited settings file: still a listing."""
    import os

    os.mkfifo(private_home / ".lmstudio-home-pointer")  # reading it would wait forever
    (private_home / "no-mlx-here").mkdir()
    build_hf_cache(private_home, starter_gguf, private_home / "no-mlx-here")
    refs = private_home / ".cache/huggingface/hub/models--bartowski--SmolLM2-135M-Instruct-GGUF/refs/main"
    refs.unlink()
    refs.symlink_to("/dev/zero")
    (private_home / "parlour" / "library-settings.json").write_text(
        json.dumps({"hidden_models": "abc", "models_folder": 7})
    )
    names = sorted(m.name for m in list_local_models())
    assert names == ["SmolLM2 135M Instruct (starter)", "bartowski/SmolLM2-135M-Instruct-GGUF"]


def test_a_models_folder_that_cannot_be_made_is_one_sentence(tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    set_models_folder(occupied)
    with pytest.raises(LibraryError, match=r"The models folder .*a-file cannot be used \(File exists\)"):
        models_folder()
    assert [m.origin for m in list_local_models()] == ["starter"]  # the rest is still listed
