"""Chat with your documents: indexing speed and memory, search speed and recall, and what it costs a reply.

Generates a corpus with a seeded RNG (by default 1,000 documents, about 20 MB of text, .txt and .md),
each holding one unique fact ("The access code for project <name> is <number>."), indexes it through
`update_collection` into a fresh index, then asks questions with known answers in several phrasings.
Prints one JSON object:

- index_docs_per_s, index_mb_per_s: the first update of the collection, extraction and chunking included
- peak_rss_mb_above_idle: the process's resident memory while indexing, above what it held just before
- query_ms_p50, query_ms_p95: DocumentIndex.search over the collection (target: p95 under 50 ms)
- recall_at_5: share of questions whose answer is in the top 5 passages, words alone (target: 0.9)
- recall_at_5_unicode61 (with --compare-tokenizers): the same without Porter stemming
- ttft_ms_with_4_passages / ttft_ms_without: the starter model's time to first token (greedy, medians
  over --chat-runs questions, each new so that no prompt cache helps), and the prompt tokens of each
- with --embeddings, on a subset of its own (--embedding-documents, --embedding-kb; another seed), the starter
  model standing in for an embedding model (llama.cpp, mean pooling, in an engine host):
  embed_passages_per_s (every passage of the subset, after the model is loaded), embedding_load_s, and
  recall_at_5_words_subset / recall_at_5_fused with query_ms_p50_fused / p95 (the question embedded each time)

    python benchmarks/documents.py [--documents 1000] [--kb 20] [--queries 200] [--chat-runs 3]
                                   [--compare-tokenizers] [--skip-chat]
                                   [--embeddings] [--embedding-documents 100] [--embedding-kb 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PARLOUR_HOME", tempfile.mkdtemp(prefix="parlour-bench-docs-"))

import psutil  # noqa: E402

from app.documents import index_file  # noqa: E402
from app.documents.index import DocumentIndex  # noqa: E402
from app.documents.indexer import update_collection  # noqa: E402

_SYLLABLE_TEXT = "ka lo mi ren tu sa vel dor an pe qui zor ith bal mon ter gal fin rus ob"
SYLLABLES = _SYLLABLE_TEXT.split()
QUESTIONS = (
    "What is the access code for project {name}?",
    "Which access codes does project {name} use?",
    "project {name} access code",
    "Tell me the code for accessing project {name}.",
    "I forgot the {name} access code, what was it?",
)


def _word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high)))


def make_corpus(folder: Path, documents: int, kb: int, seed: int = 1234) -> list[tuple[str, str, str]]:
    """Write the documents; returns (file name, project name, code) for each fact."""
    rng = random.Random(seed)
    vocabulary = sorted({_word(rng, 1, 3) for _ in range(6000)})
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf-like, as real text is
    facts, names = [], set()
    for n in range(documents):
        # Two words that also occur in other documents' text: finding the fact takes both, and the question.
        name = ""
        while not name or name in names:
            name = " ".join(word.capitalize() for word in rng.sample(vocabulary[200:3000], 2))
        names.add(name)
        code = str(rng.randrange(10**5, 10**6))
        words = rng.choices(vocabulary, weights, k=kb * 1024 // 7)
        sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
        paragraphs = [" ".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6)]
        paragraphs.insert(rng.randrange(len(paragraphs)), f"The access code for project {name} is {code}.")
        suffix = ".md" if n % 3 == 0 else ".txt"
        if suffix == ".md":
            paragraphs = [f"## Part {i}\n\n{p}" if i % 5 == 0 else p for i, p in enumerate(paragraphs)]
        sub = folder / f"shelf{n % 20}"
        sub.mkdir(parents=True, exist_ok=True)
        file_name = f"doc{n}{suffix}"
        (sub / file_name).write_text("\n\n".join(paragraphs), encoding="utf-8")
        facts.append((file_name, name, code))
    return facts


class PeakMemory:
    """The process's peak resident memory, sampled every 10 ms on a thread."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.idle = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def index_corpus(folder: Path, path: Path) -> tuple[DocumentIndex, dict[str, Any]]:
    index = DocumentIndex(path)
    index.create_collection("bench")
    index.add_folder("bench", folder)
    total_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    with PeakMemory() as memory:
        start = time.perf_counter()
        report = update_collection(index, "bench")
        seconds = time.perf_counter() - start
    assert not report.problems, report.problems[:3]
    return index, {
        "documents": report.added,
        "corpus_mb": round(total_bytes / 1e6, 1),
        "passages": index.collections()[0].passages,
        "index_seconds": round(seconds, 2),
        "index_docs_per_s": round(report.added / seconds, 1),
        "index_mb_per_s": round(total_bytes / 1e6 / seconds, 2),
        "peak_rss_mb_above_idle": round((memory.peak - memory.idle) / 1e6, 1),
        "index_file_mb": round(path.stat().st_size / 1e6, 1),
    }


def ask(
    index: DocumentIndex, facts: list[tuple[str, str, str]], queries: int, seed: int = 99, embed: Any = None
) -> dict[str, Any]:
    """Search speed and recall at 5; with `embed`, by words and meaning fused (the question embedded each time)."""
    from app.documents.collection_search import search_collections

    rng = random.Random(seed)
    times, hits = [], 0
    for _ in range(queries):
        _file, name, code = rng.choice(facts)
        question = rng.choice(QUESTIONS).format(name=name)
        start = time.perf_counter()
        if embed is None:
            found = index.search(question, "bench", 5)
        else:
            [found] = search_collections(index, question, ["bench"], 5, embed)
        times.append((time.perf_counter() - start) * 1000)
        hits += any(code in passage.text for passage in found)
    times.sort()
    return {
        "queries": queries,
        "query_ms_p50": round(statistics.median(times), 2),
        "query_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
        "recall_at_5": round(hits / queries, 3),
    }


def chat_effect(index: DocumentIndex, facts: list[tuple[str, str, str]], runs: int) -> dict[str, Any]:
    """Time to first token on the starter model, with a 4-passage retrieval and without (medians)."""
    from app.documents.retrieval import context_for, with_documents
    from app.library.starter import starter_model_path
    from engines.base import Finished, GenerationParams
    from engines.host_client import EngineClient

    model = starter_model_path()
    if model is None:
        return {"chat_skipped": "the starter model is not installed"}
    params = GenerationParams(temperature=0.0, max_tokens=4, repeat_penalty=1.0)
    rng = random.Random(7)
    results: dict[str, list[Finished]] = {"with": [], "without": []}
    retrieval_ms = []
    with EngineClient() as client:
        client.load(str(model), "llamacpp")
        client.generate([{"role": "user", "content": "Warm up."}], params).text()
        for _ in range(runs):
            for kind in ("without", "with"):  # alternating, so machine noise hits both alike
                _file, name, _code = rng.choice(facts)
                messages = [{"role": "user", "content": f"What is the access code for project {name}?"}]
                if kind == "with":
                    start = time.perf_counter()
                    context = context_for(messages[0]["content"], collections=["bench"], index=index, limit=4)
                    retrieval_ms.append((time.perf_counter() - start) * 1000)
                    messages = with_documents(messages, context)
                _text, finished = client.generate(messages, params).text()
                assert finished.finish_reason != "error", finished
                results[kind].append(finished)
    out: dict[str, Any] = {"chat_runs": runs, "retrieval_ms_median": round(statistics.median(retrieval_ms), 2)}
    for kind, finished in results.items():
        out[f"ttft_ms_{kind}"] = round(statistics.median(f.stats.ttft_ms for f in finished), 1)
        out[f"prompt_tokens_{kind}"] = int(statistics.median(f.stats.prompt_tokens for f in finished))
    out["ttft_ratio_with_vs_without"] = round(out["ttft_ms_with"] / out["ttft_ms_without"], 2)
    return out


def embedding_effect(scratch: Path, documents: int, kb: int, queries: int) -> dict[str, Any]:
    """Embedding throughput and recall with fusion, on a subset, the starter model standing in."""
    from app.documents.embedding import ModelEmbedder, embed_missing
    from app.library.starter import starter_model_path

    model = starter_model_path()
    if model is None:
        return {"embeddings_skipped": "the starter model is not installed"}
    folder = scratch / "subset"
    facts = make_corpus(folder, documents, kb, seed=4321)
    index, indexed = index_corpus(folder, scratch / "subset.sqlite3")
    index.set_embedding_model("bench", str(model))
    with ModelEmbedder(str(model)) as embed:
        start = time.perf_counter()
        embed(["Warm up."])  # starts the engine host and loads the model
        load_seconds = time.perf_counter() - start
        start = time.perf_counter()
        count, problem = embed_missing(index, "bench", embed)
        seconds = time.perf_counter() - start
        assert problem is None, problem
        words = ask(index, facts, queries)
        fused = ask(index, facts, queries, embed=embed)
    index.close()
    return {
        "embedding_documents": indexed["documents"],
        "embedding_passages": count,
        "embedding_load_s": round(load_seconds, 2),
        "embed_seconds": round(seconds, 1),
        "embed_passages_per_s": round(count / seconds, 1),
        "embedding_queries": queries,
        "recall_at_5_words_subset": words["recall_at_5"],
        "recall_at_5_fused": fused["recall_at_5"],
        "query_ms_p50_fused": fused["query_ms_p50"],
        "query_ms_p95_fused": fused["query_ms_p95"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=20, help="about how many KB of text per document")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chat-runs", type=int, default=3)
    parser.add_argument("--compare-tokenizers", action="store_true")
    parser.add_argument("--skip-chat", action="store_true")
    parser.add_argument("--embeddings", action="store_true", help="also embedding throughput and fused recall")
    parser.add_argument("--embedding-documents", type=int, default=100)
    parser.add_argument("--embedding-kb", type=int, default=2, help="about how many KB of text per subset document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parlour-docs-") as scratch:
        folder = Path(scratch) / "corpus"
        facts = make_corpus(folder, args.documents, args.kb)
        index, result = index_corpus(folder, Path(scratch) / "documents.sqlite3")
        result["tokenizer"] = index_file.TOKENIZER
        result.update(ask(index, facts, args.queries))
        if args.compare_tokenizers:
            plain_tokenizer = "unicode61 remove_diacritics 2"
            index_file.TOKENIZER = plain_tokenizer  # read when a new index file is made
            plain, _ = index_corpus(folder, Path(scratch) / "plain.sqlite3")
            result["recall_at_5_unicode61"] = ask(plain, facts, args.queries)["recall_at_5"]
            plain.close()
        if not args.skip_chat:
            result.update(chat_effect(index, facts, args.chat_runs))
        index.close()
        if args.embeddings:
            result.update(
                embedding_effect(Path(scratch), args.embedding_documents, args.embedding_kb, min(args.queries, 100))
            )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
