"""Vectors in the document index: stored for every passage by the real llama.cpp engine, replaced with a
changed file, fused with the words' ranking by reciprocal rank, and an older index file migrated.

The starter model stands in for an embedding model (mean pooling). Tests that depend on meaning do so only
where the margin is wide; the fusion's arithmetic is checked on fixed rankings and given vectors.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.documents import index_file
from app.documents.collection_search import merged, search_collections
from app.documents.embedding import ModelEmbedder, embed_missing, embedding_text
from app.documents.fusion import RRF_K, reciprocal_rank_fusion
from app.documents.index import DocumentIndex
from app.documents.indexer import update_collection
from app.documents.passages import Passage
from app.documents.retrieval import context_for
from app.documents.vectors import vector_from_bytes

TOPICS = [
    "The tomato seedlings need watering every morning and a sunny spot on the windowsill.",
    "The night train to Vienna leaves platform four at eleven and has sleeping cars.",
    "Heavy rain is expected on Thursday, with strong winds along the coast.",
    "Whisk the eggs with sugar until pale, then fold in the flour gently.",
    "The library opens at nine on weekdays and closes early on Saturdays.",
    "Our football team won the regional cup after a penalty shoot-out.",
    "The museum's new exhibition shows bronze age jewellery from the river valley.",
    "Change the engine oil every ten thousand kilometres or once a year.",
    "The quarterly budget shows travel costs rising by twelve percent.",
    "Feed the cat twice a day and keep fresh water in her bowl.",
    "The choir rehearses on Tuesday evenings in the church hall.",
    "Hiking boots should be broken in before a long mountain walk.",
    "The dentist recommends brushing twice daily and flossing at night.",
    "Solar panels on the barn roof produce most power around noon.",
    "The wedding reception will be held in the garden if the weather is fine.",
    "Knit two, purl two, and repeat until the scarf is long enough.",
    "Bees visit the lavender bushes all through the summer afternoons.",
]
# The one passage the question's words match, and the one that answers it in other words.
DISTRACTOR = "Reset the oven timer after the bread comes out of the oven."
TARGET = (
    "To get back into your account after losing the passphrase, open Settings, choose Security and follow "
    "the recovery steps."
)
QUESTION = "How do I reset my forgotten password?"


@pytest.fixture(scope="module")
def embedder(starter_gguf: Path) -> Iterator[ModelEmbedder]:
    with ModelEmbedder(str(starter_gguf)) as opened:
        yield opened


@pytest.fixture
def index(tmp_path: Path) -> Iterator[DocumentIndex]:
    with DocumentIndex(tmp_path / "documents.sqlite3") as opened:
        yield opened


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for n, text in enumerate(TOPICS):
        (docs / f"note{n}.txt").write_text(text)
    (docs / "oven.txt").write_text(DISTRACTOR)
    (docs / "account.md").write_text(f"# Help\n\n{TARGET}\n")
    return docs


def _collection(index: DocumentIndex, folder: Path, model: Path, embedder: ModelEmbedder) -> None:
    index.create_collection("home")
    index.add_folder("home", folder)
    index.set_embedding_model("home", str(model))
    report = update_collection(index, "home", embedder=embedder)
    assert report.problems == []


def _vectors(index: DocumentIndex) -> dict[int, tuple[str, list[float]]]:
    """passage id -> (its text, its stored vector)."""
    rows = index.connection.execute(
        "SELECT p.id, p.heading, p.text, v.vector FROM passage_vectors v JOIN passages p ON p.id = v.passage"
    )
    return {passage: (embedding_text(heading, text), vector_from_bytes(blob)) for passage, heading, text, blob in rows}


def _close(a: list[float], b: list[float], tolerance: float = 1e-4) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) < tolerance


def test_every_passage_gets_its_vector(
    index: DocumentIndex, folder: Path, starter_gguf: Path, embedder: ModelEmbedder
) -> None:
    _collection(index, folder, starter_gguf, embedder)
    [summary] = index.collections()
    assert summary.documents == len(TOPICS) + 2
    assert summary.vectors == summary.passages >= summary.documents
    assert summary.embedding_model == str(starter_gguf)
    assert index.missing_vectors("home") == 0
    stored = _vectors(index)
    texts = [text for text, _ in stored.values()]
    assert f"Help\n{TARGET}" in texts  # the heading is embedded with its passage
    for (text, vector), fresh in zip(stored.values(), embedder(texts), strict=True):
        assert abs(math.sqrt(sum(x * x for x in vector)) - 1.0) < 1e-4
        assert _close(vector, fresh), text  # float32 on disk, the same vector read back


def test_a_changed_file_gets_new_vectors_and_loses_the_old(
    index: DocumentIndex, folder: Path, starter_gguf: Path, embedder: ModelEmbedder
) -> None:
    _collection(index, folder, starter_gguf, embedder)
    before = _vectors(index)
    (folder / "oven.txt").write_text("The lighthouse keeper writes the weather in his logbook every evening.")
    report = update_collection(index, "home", embedder=embedder)
    assert (report.changed, report.embedded, report.problems) == (1, 1, [])
    after = _vectors(index)
    assert len(after) == len(before)
    assert DISTRACTOR not in [text for text, _ in after.values()]  # its vector went with its passage
    [new] = [(text, vector) for text, vector in after.values() if "lighthouse" in text]
    assert _close(new[1], embedder([new[0]])[0])
    assert index.connection.execute("SELECT count(*) FROM passage_vectors").fetchone()[0] == len(after)


def test_fusion_finds_a_paraphrase_that_words_alone_miss(
    index: DocumentIndex, folder: Path, starter_gguf: Path, embedder: ModelEmbedder
) -> None:
    _collection(index, folder, starter_gguf, embedder)
    by_words = index.search(QUESTION, "home", 5)
    # Only the distractor holds a word of the question: so fusion cannot push it out of five places.
    assert [p.text for p in by_words] == [DISTRACTOR]
    problems: list[str] = []
    [fused] = search_collections(index, QUESTION, ["home"], 5, embedder, problems)
    assert problems == []
    texts = [p.text for p in fused]
    assert by_words[0].text in texts
    # The answer shares no word with the question; its cosine leads the others' by a wide margin with this
    # model (about 0.91 against 0.79), and fusion needs it only among the four nearest.
    assert TARGET in texts
    assert [p.score for p in fused] == sorted((p.score for p in fused), reverse=True)
    context = context_for(QUESTION, collections=["home"], index=index, embed=embedder)
    assert {citation.source for citation in context.citations} >= {str(folder / "account.md")}


def test_fusion_of_fixed_rankings() -> None:
    def share(*ranks: int) -> float:
        return sum(1 / (RRF_K + rank) for rank in ranks)

    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d", "a"]])
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert [score for _, score in fused] == pytest.approx([share(1, 3), share(3, 1), share(2), share(2)])
    # Equal scores keep the order the rankings first named them in; a repeat within one ranking counts once.
    assert [item for item, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert reciprocal_rank_fusion([["x", "x"]]) == [("x", pytest.approx(share(1)))]
    assert reciprocal_rank_fusion([]) == []
    assert [item for item, _ in reciprocal_rank_fusion([["p", "q"], ["q"]], k=1)] == ["q", "p"]


def test_search_fuses_words_and_given_vectors_by_rank(index: DocumentIndex) -> None:
    index.create_collection("fixed")
    texts = {
        "a": "apple apple apple orchard",  # the words' first
        "b": "apple orchard pears and plums",  # the words' second
        "c": "nothing about fruit at all",  # no word of the question: found by its vector alone
    }
    for name, text in texts.items():
        index.replace_document(
            "fixed", f"/f/{name}.txt", size=1, mtime_ns=1, passages=[Passage(f"/f/{name}.txt", text)]
        )
    ids = dict(index.connection.execute("SELECT d.path, p.id FROM passages p JOIN documents d ON d.id = p.document"))
    given = {"a": [0.0, 1.0, 0.0], "b": [1.0, 0.0, 0.0], "c": [0.8, 0.6, 0.0]}  # query (1, 0, 0): b, c, a
    rows = [(ids[f"/f/{name}.txt"], texts[name], vector) for name, vector in given.items()]
    assert index.store_vectors(rows) == 3
    fused = index.search("apple orchard", "fixed", 3, query_vector=[1.0, 0.0, 0.0])
    # b: second by words, first by meaning; a: first by words, third by meaning; c: second by meaning only.
    expected = {"b": 1 / (RRF_K + 2) + 1 / (RRF_K + 1), "a": 1 / (RRF_K + 1) + 1 / (RRF_K + 3), "c": 1 / (RRF_K + 2)}
    assert [p.source for p in fused] == ["/f/b.txt", "/f/a.txt", "/f/c.txt"]
    assert [p.score for p in fused] == pytest.approx([expected["b"], expected["a"], expected["c"]])
    assert [p.source for p in index.search("apple orchard", "fixed", 3)] == ["/f/a.txt", "/f/b.txt"]
    # One passage asked for: the words' best is always kept, so it is that one.
    assert [p.source for p in index.search("apple orchard", "fixed", 1, query_vector=[1.0, 0.0, 0.0])] == ["/f/a.txt"]
    # A vector of another width (another model) is never compared: words alone decide.
    assert [p.source for p in index.search("apple orchard", "fixed", 3, query_vector=[1.0, 0.0])] == [
        "/f/a.txt",
        "/f/b.txt",
    ]
    # Collections searched apart, merged by rank: a passage found twice counts once.
    assert [p.source for p in merged([fused, fused[:1]], 5)] == ["/f/b.txt", "/f/a.txt", "/f/c.txt"]


def test_the_words_best_passage_stays_when_the_fusion_would_drop_it(index: DocumentIndex) -> None:
    index.create_collection("fixed")
    texts = {"a": "apple apple apple", "b": "apple apple pear", "c": "apple pear plum fig", "d": "pear plum"}
    for name, text in texts.items():
        index.replace_document(
            "fixed", f"/f/{name}.txt", size=1, mtime_ns=1, passages=[Passage(f"/f/{name}.txt", text)]
        )
    ids = dict(index.connection.execute("SELECT d.path, p.id FROM passages p JOIN documents d ON d.id = p.document"))
    given = {"c": [1.0, 0.0, 0.0], "b": [0.8, 0.6, 0.0], "d": [0.6, 0.8, 0.0], "a": [0.0, 1.0, 0.0]}
    index.store_vectors([(ids[f"/f/{name}.txt"], texts[name], vector) for name, vector in given.items()])
    words = [p.source for p in index.search("apple", "fixed", 3)]
    assert words == ["/f/a.txt", "/f/b.txt", "/f/c.txt"]
    meaning = ["/f/c.txt", "/f/b.txt", "/f/d.txt", "/f/a.txt"]
    # Fusion alone ranks c (3rd and 1st) and b (2nd and 2nd) above a (1st and 4th) ...
    assert [item for item, _ in reciprocal_rank_fusion([words, meaning])][:2] == ["/f/c.txt", "/f/b.txt"]
    # ... but the words' best passage is kept, in the last place asked for.
    assert [p.source for p in index.search("apple", "fixed", 2, query_vector=[1.0, 0.0, 0.0])] == [
        "/f/c.txt",
        "/f/a.txt",
    ]


def test_changing_the_model_forgets_the_vectors(index: DocumentIndex) -> None:
    index.create_collection("fixed")
    index.replace_document("fixed", "/f/a.txt", size=1, mtime_ns=1, passages=[Passage("/f/a.txt", "apple")])
    [passage] = [row[0] for row in index.connection.execute("SELECT id FROM passages")]
    index.set_embedding_model("fixed", "/models/one.gguf")
    index.store_vectors([(passage, "apple", [1.0, 0.0])])
    assert index.store_vectors([(passage, "changed meanwhile", [0.0, 1.0])]) == 0  # not this passage's text now
    index.set_embedding_model("fixed", "/models/one.gguf")  # the same model: kept
    assert (index.has_vectors("fixed"), index.missing_vectors("fixed")) == (True, 0)
    index.set_embedding_model("fixed", "/models/two.gguf")
    assert (index.has_vectors("fixed"), index.missing_vectors("fixed")) == (False, 1)
    index.set_embedding_model("fixed", None)
    assert index.embedding_model("fixed") is None


def test_an_embedding_failure_is_a_sentence_and_words_still_work(
    index: DocumentIndex, folder: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_text("not a model")
    index.create_collection("home")
    index.add_folder("home", folder)
    index.set_embedding_model("home", str(broken))
    report = update_collection(index, "home")
    assert report.added == len(TOPICS) + 2 and report.embedded == 0
    [(path, sentence)] = report.problems
    assert path == str(broken)
    assert sentence.startswith("The passages could not be embedded with broken.gguf (")
    assert "searched by their words alone" in sentence and "\n" not in sentence
    assert index.collections()[0].problems == [(str(broken), sentence)]  # `parlour docs list` shows it
    assert index.search("train to Vienna", "home", 1)[0].text == TOPICS[1]


def test_a_collection_without_a_model_starts_no_engine(index: DocumentIndex, folder: Path) -> None:
    class Refusing:
        model = "/models/any.gguf"

        def __call__(self, texts: list[str]) -> list[list[float]]:
            raise AssertionError("nothing should be embedded")

        def close(self) -> None:
            pass

    index.create_collection("home")
    index.add_folder("home", folder)
    report = update_collection(index, "home", embedder=Refusing())
    assert (report.embedded, report.problems) == (0, [])
    assert embed_missing(index, "home", Refusing()) == (0, None)
    # A collection whose vectors come from another model than the embedder's: words alone, and a sentence.
    index.set_embedding_model("home", "/models/other.gguf")
    problems: list[str] = []
    [found] = search_collections(index, "train to Vienna", ["home"], 1, Refusing(), problems)
    assert found[0].text == TOPICS[1] and problems == []  # no vectors yet: nothing to say
    passage = index.connection.execute("SELECT id, text FROM passages LIMIT 1").fetchone()
    index.store_vectors([(passage[0], passage[1], [1.0])])
    search_collections(index, "train to Vienna", ["home"], 1, Refusing(), problems)
    assert problems == [
        "'home' was searched by its words alone: its embedding model, other.gguf, is not the one in use for "
        "this question."
    ]


def test_a_version_1_index_is_migrated_with_its_passages(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite3"
    old = sqlite3.connect(path)
    for statement in index_file._statements(index_file._SCHEMA.format(tokenizer=index_file.TOKENIZER)):
        old.execute(statement)
    old.execute("INSERT INTO collections (id, name) VALUES (1, 'work')")
    old.execute(
        "INSERT INTO documents (id, collection, path, size, mtime_ns, indexed_at) VALUES (1, 1, '/w/a.txt', 1, 1, 'x')"
    )
    old.execute("INSERT INTO passages (document, ordinal, text) VALUES (1, 0, 'The access code for Heron is 7391.')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with DocumentIndex(path) as index:
        assert index.connection.execute("PRAGMA user_version").fetchone()[0] == index_file.SCHEMA_VERSION == 2
        assert index.search("access code Heron", "work")[0].text == "The access code for Heron is 7391."
        [summary] = index.collections()
        assert (summary.passages, summary.vectors, summary.embedding_model) == (1, 0, None)
        assert index.missing_vectors("work") == 1
    with DocumentIndex(path) as again:  # opening it again changes nothing
        assert again.search("Heron", "work")[0].source == "/w/a.txt"
