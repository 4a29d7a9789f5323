"""Downloads from the stand-in Hub: verified, atomic, resumable, and plain about every failure."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from app.library.catalog import list_local_models
from app.library.downloads import (
    DownloadJob,
    DownloadProgress,
    DownloadQueue,
    JobState,
    plan_download,
    unfinished_downloads,
)
from app.library.errors import LibraryError, NotFoundError, TokenRejectedError, offline_error
from tests.library.helpers import models_root
from tests.support.fake_hub import FakeHub, HubFile, HubRepo
from tests.support.fake_hub_repos import GATED_REPO, GGUF_REPO, MLX_REPO

STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FAST_RETRIES = (0.05, 0.05, 0.05)


def starter_job(**kwargs) -> DownloadJob:
    job = plan_download(GGUF_REPO, [f"*{STARTER_FILE}"])
    for key, value in kwargs.items():
        setattr(job, key, value)
    return job


def target(repo_id: str, path: str) -> Path:
    return models_root() / repo_id / path


def cdn_gets(hub: FakeHub) -> list:
    return [r for r in hub.requests if r.server == "cdn" and r.method == "GET"]


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def test_download_is_verified_renamed_into_place_and_asks_only_what_it_needs(hub: FakeHub, starter_gguf: Path) -> None:
    updates: list[DownloadProgress] = []
    job = starter_job()
    job.listeners.append(updates.append)
    started = time.monotonic()
    assert job.run() == JobState.DONE, job.error
    elapsed = time.monotonic() - started

    placed = target(GGUF_REPO, STARTER_FILE)
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == hashlib.sha256(starter_gguf.read_bytes()).hexdigest()
    assert not list(placed.parent.glob("*.part*"))
    repo = hub.repos[GGUF_REPO]
    blob = repo.file(STARTER_FILE).sha256
    assert hub.request_lines() == [
        f"GET hub /api/models/{GGUF_REPO}",
        f"GET hub /{GGUF_REPO}/resolve/{repo.sha}/{STARTER_FILE}",  # pinned to the commit the page showed
        f"GET cdn /blobs/{blob}",
    ]
    assert "authorization" not in cdn_gets(hub)[0].headers
    # Progress: bytes, a speed, a time left, a few times a second at most.
    assert updates[-1].state == JobState.DONE and updates[-1].done_bytes == updates[-1].total_bytes == 98362432
    assert len(updates) <= elapsed / 0.25 + 6
    assert any(u.bytes_per_s > 0 and u.seconds_left is not None for u in updates[:-1]) or elapsed < 0.6
    listed = [m for m in list_local_models() if m.origin == "models folder"]
    assert [m.path for m in listed] == [placed] and listed[0].info is not None


def test_a_dropped_connection_resumes_with_a_range_and_resends_under_5_percent(hub: FakeHub) -> None:
    hub.faults.drop_after_bytes, hub.faults.drops = 40_000_000, 1
    job = starter_job(retry_delays=FAST_RETRIES)
    assert job.run() == JobState.DONE, job.error
    first, second = cdn_gets(hub)
    assert first.range is None and second.range is not None
    resumed_at = int(second.range.removeprefix("bytes=").rstrip("-"))
    # The reset loses what was in flight (up to the socket buffers); everything that arrived is kept,
    # so what is sent again is exactly what was lost on the way.
    size = 98362432
    resent = hub.body_bytes_sent[STARTER_FILE] - size
    assert resent == 40_000_000 - resumed_at and 0 <= resent < 0.05 * size
    assert hashlib.sha256(target(GGUF_REPO, STARTER_FILE).read_bytes()).hexdigest() == (
        hub.repos[GGUF_REPO].file(STARTER_FILE).sha256
    )


def test_wrong_bytes_are_caught_by_the_hash_and_fetched_once_more(hub: FakeHub) -> None:
    hub.faults.corrupt = 1
    job = plan_download(MLX_REPO)
    assert job.run() == JobState.DONE, job.error
    weights = target(MLX_REPO, "model.safetensors")
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == hub.repos[MLX_REPO].file("model.safetensors").sha256
    assert len([r for r in cdn_gets(hub) if "blobs" in r.path]) == 2


def test_wrong_bytes_twice_delete_the_file_and_say_so(hub: FakeHub) -> None:
    hub.faults.corrupt = 2
    job = plan_download(MLX_REPO)
    assert job.run() == JobState.FAILED
    assert job.error == (
        "model.safetensors did not match the Hugging Face Hub's checksum twice, so it was deleted; "
        "the download may have been tampered with on the way. Try again later."
    )
    folder = target(MLX_REPO, "")
    assert not (folder / "model.safetensors").exists() and not list(folder.glob("model.safetensors.part*"))
    assert not (folder / "config.json").exists()  # the folder is not mistaken for a finished model


def test_gated_model_without_and_with_a_token(hub: FakeHub) -> None:
    job = plan_download(GATED_REPO)
    assert job.run() == JobState.FAILED
    assert job.error == (
        f"{GATED_REPO} is gated: accept the license on the model page (https://huggingface.co/{GATED_REPO}), "
        "then add your Hugging Face token in Parlour."
    )
    hub.valid_tokens.add("hf_valid")
    job = plan_download(GATED_REPO, token="hf_valid")
    assert job.run() == JobState.FAILED
    assert job.error.startswith(f"Your Hugging Face token does not give access to {GATED_REPO}: accept the license")
    hub.granted_tokens.add("hf_valid")
    job = plan_download(GATED_REPO, token="hf_valid")
    assert job.run() == JobState.DONE, job.error
    resolve = [r for r in hub.requests if "/resolve/" in r.path][-1]
    assert resolve.headers["authorization"] == "Bearer hf_valid"


def test_a_refused_token_and_missing_things_are_sentences(hub: FakeHub) -> None:
    with pytest.raises(TokenRejectedError, match=r"^The Hugging Face Hub refused your token; check it, or remove it"):
        plan_download(GGUF_REPO, token="hf_wrong")
    with pytest.raises(NotFoundError, match=r"^nobody/nothing was not found on the Hugging Face Hub"):
        plan_download("nobody/nothing")
    job = plan_download(MLX_REPO)
    hub.repos[MLX_REPO].files = [f for f in hub.repos[MLX_REPO].files if f.path != "tokenizer.json"]
    assert job.run() == JobState.FAILED
    assert job.error == f"A file of {MLX_REPO} is no longer on the Hugging Face Hub; reload the model page."


def test_repository_names_are_checked_before_any_request(hub: FakeHub) -> None:
    for bad in ("a/../b", "../etc", "just-a-name", "a/b/c"):
        with pytest.raises(LibraryError, match="is not a Hugging Face repository name"):
            plan_download(bad)
    assert hub.requests == []


def test_several_variants_need_a_choice(hub: FakeHub) -> None:
    with pytest.raises(Exception, match=r"has several variants \(Q8_0 \(2 parts\), Q4_1\); choose one with --include"):
        plan_download(GGUF_REPO)


def test_cancel_during_a_stall_is_prompt_and_a_later_download_resumes(hub: FakeHub) -> None:
    hub.faults.stall_after_bytes = 10 * 1024 * 1024
    job = starter_job()
    worker = threading.Thread(target=job.run)
    worker.start()
    part = target(GGUF_REPO, STARTER_FILE + ".part")
    wait_for(lambda: job.done_bytes == 10 * 1024 * 1024)
    time.sleep(0.3)  # the server is silent now; the reader is blocked
    asked = time.monotonic()
    job.cancel()
    # Generous, so a slow machine never fails it; the CANCELLED state below shows the cancel ended it
    # (a read timeout would have retried, and the stall lasts 120 s).
    assert job.wait(30.0), "cancel did not interrupt the stalled read"
    worker.join(30.0)
    assert time.monotonic() - asked < 30.0 and not worker.is_alive()
    assert job.state == JobState.CANCELLED
    assert part.stat().st_size == 10 * 1024 * 1024  # kept for a resume
    (unfinished,) = unfinished_downloads()
    assert (unfinished["repo_id"], unfinished["path"], unfinished["have_bytes"]) == (
        GGUF_REPO,
        STARTER_FILE,
        10 * 1024 * 1024,
    )

    # As after a restart of the app: a new job finds the part and asks for the rest only.
    hub.faults.stall_after_bytes = None
    hub.clear_requests()
    again = starter_job()
    assert again.run() == JobState.DONE, again.error
    (request,) = cdn_gets(hub)
    assert request.range == f"bytes={10 * 1024 * 1024}-"
    assert hub.body_bytes_sent[STARTER_FILE] == 98362432 - 10 * 1024 * 1024
    assert unfinished_downloads() == []


def test_a_part_of_another_version_is_not_resumed(hub: FakeHub) -> None:
    job = plan_download(MLX_REPO)
    weights = target(MLX_REPO, "model.safetensors")
    weights.parent.mkdir(parents=True)
    Path(str(weights) + ".part").write_bytes(b"stale bytes")
    Path(str(weights) + ".part.json").write_text(json.dumps({"repo_id": MLX_REPO, "sha256": "0" * 64}))
    assert job.run() == JobState.DONE, job.error
    assert all(r.range is None for r in cdn_gets(hub))


def test_queue_runs_two_at_a_time_and_pauses_and_resumes(hub: FakeHub) -> None:
    hub.faults.throttle_bytes_per_s = 30_000_000
    queue = DownloadQueue()
    first = queue.add(starter_job())
    second = queue.add(plan_download(GGUF_REPO, ["Q8_0/*"]))
    third = queue.add(plan_download(MLX_REPO))
    wait_for(lambda: first.state == JobState.RUNNING and second.state == JobState.RUNNING)
    assert third.state == JobState.QUEUED
    wait_for(lambda: second.state == JobState.DONE)
    wait_for(lambda: third.state != JobState.QUEUED)  # it took the free place
    wait_for(lambda: first.done_bytes > 5_000_000)
    queue.pause(first.id)
    assert first.wait(2.0) and first.state == JobState.PAUSED
    part = target(GGUF_REPO, STARTER_FILE + ".part")
    kept = part.stat().st_size
    assert kept > 5_000_000
    hub.faults.throttle_bytes_per_s = None
    queue.resume(first.id)
    assert queue.wait_all(30) and first.state == third.state == JobState.DONE
    last = [r for r in cdn_gets(hub) if r.path.endswith(hub.repos[GGUF_REPO].file(STARTER_FILE).sha256)][-1]
    assert last.range == f"bytes={kept}-"


def test_not_enough_disk_space_is_checked_before_any_byte(hub: FakeHub) -> None:
    hub.add(
        HubRepo(
            "huge/Model-GGUF",
            [HubFile("model-Q4_K_M.gguf", data=b"x" * 10, lfs=True, declared_size=10**15)],
            tags=["gguf"],
        )
    )
    job = plan_download("huge/Model-GGUF")
    assert job.run() == JobState.FAILED
    assert job.error.startswith("Not enough disk space: the download needs 1000.0 TB in ")
    assert job.error.endswith("is free. Free some space or choose another models folder.")
    assert cdn_gets(hub) == [] and not any("/resolve/" in r.path for r in hub.requests)


def test_losing_the_network_retries_then_says_offline_and_keeps_the_part(hub: FakeHub) -> None:
    hub.faults.stall_after_bytes = 20_000_000
    job = starter_job(retry_delays=FAST_RETRIES)
    worker = threading.Thread(target=job.run)
    worker.start()
    part = target(GGUF_REPO, STARTER_FILE + ".part")
    wait_for(lambda: job.done_bytes == 20_000_000)
    hub.stop()  # the connection drops, and every retry is refused
    worker.join(10)
    assert job.state == JobState.FAILED
    assert job.error == str(offline_error())
    assert job.error.startswith("You are offline: Parlour cannot reach the Hugging Face Hub.")
    assert part.stat().st_size == 20_000_000
