"""Fuzzing the JSON import: damaged exports are refused whole, with one sentence, or imported whole.

The documents start from a real export of a small store (two conversations, with branches) and from
the seed files, and are damaged value by value: wrong types, missing keys, huge numbers, deep
nesting, lone surrogates, NUL characters, long strings, repeated IDs and parent cycles.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, example, given
from hypothesis import strategies as st

from app.store.db import Store, open_store
from app.store.errors import StoreError
from app.store.export import export_json
from app.store.import_json import import_file
from app.store.messages import edit_user_message
from app.store.replies import regenerate
from engines.base import GenerationStats
from tests.fuzz.bounds import MiB, assert_one_sentence, outcome
from tests.fuzz.json_strategies import ODD_NUMBERS, ODD_TEXT, json_values, nested_text
from tests.fuzz.profiles import SEEDS, fuzz_settings
from tests.store.helpers import chat

SEED_FILES = sorted((SEEDS / "import").glob("*.json"))
MEMORY = 512 * MiB
_DEEP = re.compile(r'"\\u0000deep(\d+)\\u0000"')


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = open_store(tmp_path_factory.mktemp("import-fuzz") / "store.db")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def exported(store: Store) -> dict[str, Any]:
    """A real export: two conversations, one with a regenerated reply and an edited question."""
    first = chat(
        store,
        ("Explain photosynthesis", "Plants turn light into sugar."),
        ("Shorter?", "Light → sugar."),
        model="smollm2",
        system_prompt="Be exact.",
        parameters={"temperature": 0.3, "stop": ["</s>"]},
    )
    rows = store.read("SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (first,))
    again = regenerate(store, rows[1]["id"])
    again.append("Chlorophyll captures light.", reasoning="Mention chlorophyll.")
    again.finish("length", GenerationStats(prompt_tokens=31, generated_tokens=5, generation_tps=61.5))
    edit_user_message(store, rows[2]["id"], "Even shorter? ünïcödé ✓ 漢字")
    second = chat(store, ("Will this survive?", "Yes."), title="Custom title", folder="Work", pinned=True)
    return json.loads("".join(export_json(store, [first, second])))


def counts(store: Store) -> tuple[int, int]:
    row = store.read("SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)")[0]
    return row[0], row[1]


def check_import(store: Store, path: Path) -> list[int] | StoreError:
    """Import the file: either everything in it arrives, or nothing does and one sentence says why."""
    before = counts(store)
    result = outcome(lambda: import_file(store, path), StoreError, MEMORY)
    after = counts(store)
    if currently_in_test_context():
        event(f"import: {re.sub(r'[0-9]+', 'N', str(result)[:50]) if isinstance(result, StoreError) else 'imported'}")
    if isinstance(result, StoreError):
        assert_one_sentence(result)
        assert after == before, "a refused import changed the store"
        return result
    document = json.loads(path.read_text(encoding="utf-8"))
    conversations = document["conversations"]
    assert len(result) == len(conversations)
    assert after == (before[0] + len(conversations), before[1] + sum(len(c["messages"]) for c in conversations))
    for new_id, conversation in zip(result, conversations, strict=True):
        stored = store.read("SELECT count(*) FROM messages WHERE conversation_id = ?", (new_id,))[0][0]
        assert stored == len(conversation["messages"])
    return result


# --- damaging a document -----------------------------------------------------------------------------


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON value, containers before what they hold."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def message_lists(document: Any) -> list[list]:
    if not isinstance(document, dict) or not isinstance(document.get("conversations"), list):
        return []
    return [
        c["messages"] for c in document["conversations"] if isinstance(c, dict) and isinstance(c.get("messages"), list)
    ]


special_values = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from([10**400, -(10**400), "\ud800", "\x00", "x" * 70_000, [], {}, None, True, False]),
    st.integers(1, 1 << 20).map(lambda n: "y" * n),  # a long string, bounded at 1 MiB
    st.sampled_from([5, 100, 900, 990, 1000, 2000, 100_000]).map(lambda depth: f"\x00deep{depth}\x00"),
    json_values(),
)
edits = st.tuples(
    st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "repeat_id", "parent", "swap"]),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    special_values,
)


def apply_edit(document: Any, edit: tuple) -> Any:
    kind, where, other, value = edit
    places = list(paths(document))
    target = places[where % len(places)]
    if kind in ("repeat_id", "parent", "swap"):
        lists = [m for m in message_lists(document) if m]
        if not lists:
            return document
        messages = lists[where % len(lists)]
        first, second = messages[other % len(messages)], messages[(other // 7) % len(messages)]
        if kind == "swap":
            i, j = messages.index(first), messages.index(second)
            messages[i], messages[j] = messages[j], messages[i]
        elif isinstance(first, dict) and isinstance(second, dict):
            if kind == "repeat_id":
                first["id"] = second.get("id")
            else:  # a parent that comes later, or the message itself: a cycle
                first["parent"] = second.get("id")
        return document
    if target == ():
        return value if kind == "replace" else document
    parent = document
    for key in target[:-1]:
        parent = parent[key]
    key = target[-1]
    if kind == "replace":
        parent[key] = value
    elif kind == "delete":
        del parent[key]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    return document


def write_document(path: Path, document: Any, ascii_only: bool) -> None:
    """JSON text as an exporter might write it; deep nesting is spliced in as text."""
    text = json.dumps(document, ensure_ascii=ascii_only)
    text = _DEEP.sub(lambda match: nested_text(int(match.group(1))), text)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate becomes bytes no UTF-8 decoder takes


# --- properties --------------------------------------------------------------------------------------


@fuzz_settings(examples=500)
@given(edits=st.lists(edits, min_size=1, max_size=4), ascii_only=st.booleans())
@example(
    edits=[("replace", 0, 0, {"format": "parlour-conversations", "format_version": 1, "conversations": []})],
    ascii_only=True,
)
def test_damaged_exports_import_whole_or_not_at_all(
    store: Store, exported: dict, fuzz_dir: Path, edits: list[tuple], ascii_only: bool
) -> None:
    document = copy.deepcopy(exported)
    for edit in edits:
        document = apply_edit(document, edit)
    path = fuzz_dir / "export.json"
    write_document(path, document, ascii_only)
    check_import(store, path)


@fuzz_settings(examples=120)
@given(seed=st.sampled_from(SEED_FILES), edits=st.lists(edits, max_size=3), ascii_only=st.booleans())
def test_damaged_seed_exports_import_whole_or_not_at_all(
    store: Store, fuzz_dir: Path, seed: Path, edits: list[tuple], ascii_only: bool
) -> None:
    document = json.loads(seed.read_text(encoding="utf-8"))
    for edit in edits:
        document = apply_edit(document, edit)
    path = fuzz_dir / "seed.json"
    write_document(path, document, ascii_only)
    check_import(store, path)


def test_the_real_export_imports(store: Store, exported: dict, fuzz_dir: Path) -> None:
    path = fuzz_dir / "export.json"
    write_document(path, exported, ascii_only=False)
    assert isinstance(check_import(store, path), list)


@pytest.mark.parametrize("seed", SEED_FILES, ids=[p.name for p in SEED_FILES])
def test_seed_exports_import_or_are_refused(store: Store, seed: Path) -> None:
    check_import(store, seed)


def _with(exported: dict, path: tuple, value: Any) -> dict:
    document = copy.deepcopy(exported)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


FIRST = ("conversations", 0)
REPORTED = {
    "lone surrogate in content": ((*FIRST, "messages", 0, "content"), "\ud800"),
    "lone surrogate in a title": ((*FIRST, "title"), "x\udfff"),
    "lone surrogate in a parameter name": ((*FIRST, "parameters"), {"\ud800": 1}),
    "lone surrogate in a message ID": ((*FIRST, "messages", 0, "id"), "\ud800"),
    "NUL in content": ((*FIRST, "messages", 0, "content"), "a\x00b"),
    "parameters nested 900 deep": ((*FIRST, "parameters"), {"a": "\x00deep900\x00"}),
    "parameters nested 990 deep": ((*FIRST, "parameters"), {"a": "\x00deep990\x00"}),
    "a role nested 900 deep": ((*FIRST, "messages", 0, "role"), "\x00deep900\x00"),
    "an ID nested 900 deep": ((*FIRST, "messages", 0, "id"), "\x00deep900\x00"),
    "a huge integer ID": ((*FIRST, "messages", 0, "id"), 10**400),
    "a huge token count": ((*FIRST, "messages", 1, "stats", "prompt_tokens"), 2**64),
    "a 401-digit speed": ((*FIRST, "messages", 1, "stats", "tokens_per_second"), 10**400),
    "a 401-digit time to first token": ((*FIRST, "messages", 1, "stats", "time_to_first_token_s"), 10**400),
    "a time past year 9999": ((*FIRST, "created_at"), "9999-12-31T23:59:59-01:00"),
    "a time before year 1000": ((*FIRST, "created_at"), "0999-12-31T23:59:59Z"),
}


@pytest.mark.parametrize("case", REPORTED, ids=list(REPORTED))
@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped", "raw"])
def test_reported_documents_import_whole_or_not_at_all(
    store: Store, exported: dict, fuzz_dir: Path, case: str, ascii_only: bool
) -> None:
    where, value = REPORTED[case]
    path = fuzz_dir / "reported.json"
    write_document(path, _with(exported, where, value), ascii_only)
    check_import(store, path)
