"""The library's settings live in the store; an older Parlour's library-settings.json moves there once."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from app.library import settings as library
from app.library.errors import LibraryError
from app.store import settings
from app.store.db import open_store, store_path
from app.store.schema import LATEST_VERSION
from app.store.settings import Setting


@pytest.fixture
def data_folder(private_home: Path) -> Path:
    return private_home / "parlour"


def test_an_old_settings_file_moves_into_the_store_once(data_folder: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "big-disk" / "models"
    old = {"models_folder": str(chosen), "hidden_models": ["/b.gguf", "/a.gguf", 7], "fit_context": 4096}
    text = json.dumps(old)
    (data_folder / library.LEGACY_FILE).write_text(text)

    assert library.models_folder() == chosen and chosen.is_dir()
    assert not (data_folder / library.LEGACY_FILE).exists()
    assert (data_folder / "library-settings.json.migrated").read_text() == text  # kept, as it was
    with open_store() as store:
        assert settings.get(store, Setting.MODELS_FOLDER) == str(chosen)
        assert settings.get(store, Setting.HIDDEN_MODELS) == ["/a.gguf", "/b.gguf"]  # the 7 was never read
        assert settings.get(store, Setting.FIT_CONTEXT) == 4096
    assert library.hidden_models() == {"/a.gguf", "/b.gguf"} and library.fit_context() == 4096

    # Once moved, the store is the only place: a change sticks, and the kept file is not read again.
    library.set_models_folder(None)
    library.unhide_model("/a.gguf")
    assert library.models_folder() == data_folder / "models"
    assert library.hidden_models() == {"/b.gguf"}


def test_a_value_already_in_the_store_wins_over_the_old_file(data_folder: Path) -> None:
    library.hide_model("/kept.gguf")  # a newer Parlour (or another program) wrote it first
    (data_folder / library.LEGACY_FILE).write_text(json.dumps({"hidden_models": ["/old.gguf"], "fit_context": 2048}))
    assert library.hidden_models() == {"/kept.gguf"}
    assert library.fit_context() == 2048  # not in the store yet, so the old file's value counts
    assert (data_folder / "library-settings.json.migrated").exists()


@pytest.mark.parametrize(
    "text",
    ["{not json", "[1, 2]", json.dumps({"hidden_models": "abc", "models_folder": 7, "fit_context": 1000})],
)
def test_an_old_file_the_old_code_would_have_ignored_counts_as_unset(data_folder: Path, text: str) -> None:
    (data_folder / library.LEGACY_FILE).write_text(text)
    assert library.hidden_models() == set()
    assert library.models_folder() == data_folder / "models"
    assert library.fit_context() == 8192
    assert (data_folder / "library-settings.json.migrated").read_text() == text
    with open_store() as store:
        assert settings.all_settings(store) == {}


def test_a_given_store_is_used_instead_of_the_default_one(tmp_path: Path) -> None:
    with open_store(tmp_path / "elsewhere" / "other.db") as other:
        library.hide_model("/only-here.gguf", store=other)
        library.set_fit_context(65536, store=other)
        assert library.hidden_models(other) == {"/only-here.gguf"} and library.fit_context(other) == 65536
    assert library.hidden_models() == set() and library.fit_context() == 8192


def test_hiding_from_several_threads_at_once_keeps_every_path() -> None:
    failures: list[BaseException] = []

    def hide_many(worker: int) -> None:
        try:
            for n in range(15):
                library.hide_model(f"/models/{worker}/{n}.gguf")
        except BaseException as error:  # reported below, with the test's own assertion
            failures.append(error)

    threads = [threading.Thread(target=hide_many, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert library.hidden_models() == {f"/models/{w}/{n}.gguf" for w in range(3) for n in range(15)}


def test_the_fit_context_is_always_a_rung_of_the_ladder() -> None:
    with open_store() as store:
        settings.put(store, Setting.FIT_CONTEXT, 5000)  # a whole number, but not one the badges offer
    assert library.fit_context() == 8192
    with pytest.raises(ValueError, match="5000 is not one of the context lengths"):
        library.set_fit_context(5000)


def test_a_store_from_a_newer_parlour_is_one_sentence() -> None:
    connection = sqlite3.connect(store_path())
    connection.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    connection.close()
    with pytest.raises(LibraryError, match=r"^This conversation store was written by a newer version of Parlour"):
        library.hidden_models()
