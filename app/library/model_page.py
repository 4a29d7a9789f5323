"""One model's page: its card, license, architecture and size, and its files as variants.

Three kinds of request, all on demand: the model info with file metadata (sizes and
LFS sha256), the README for the card, and what sizes the fit estimate: config.json
for MLX repositories, the first megabytes of a GGUF file (its header) for GGUF ones,
read with HTTP ranges rather than downloading the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.library.errors import LibraryError, OfflineError, explain
from app.library.fit import FitVerdict, MemoryBudget, ModelShape, judge_fit, shape_from_config, shape_from_gguf
from app.library.hub_connection import file_url, http_session, hub_api, raise_for_status, request_headers, token_arg
from app.library.variants import RemoteFile, Variant, files_from_siblings, group_variants

CARD_EXCERPT_CHARS = 1200
SMALL_FILE_LIMIT = 2 * 1024 * 1024
GGUF_HEADER_FIRST_READ = 2 * 1024 * 1024
GGUF_HEADER_MAX = 64 * 1024 * 1024
TIMEOUT_S = 20.0


@dataclass
class ModelPage:
    repo_id: str
    commit: str
    license: str | None
    architecture: str | None
    parameter_count: int | None
    context_length: int | None
    gated: bool
    card_excerpt: str
    downloads: int
    likes: int
    files: list[RemoteFile]
    variants: list[Variant]
    shapes: dict[str, ModelShape] = field(default_factory=dict)  # by format: "gguf", "mlx"

    def fit(self, variant: Variant, context: int, budget: MemoryBudget) -> FitVerdict:
        engine = "mlx" if variant.format == "mlx" else "llamacpp"
        return judge_fit(engine, self.shapes.get(variant.format), variant.weights_size, context, budget)


def load_model_page(repo_id: str, token: str | None = None) -> ModelPage:
    """Everything the model page shows; raises LibraryError with one plain sentence."""
    try:
        info = hub_api().model_info(repo_id, files_metadata=True, token=token_arg(token))
    except Exception as exc:
        raise explain(exc, repo_id, with_token=bool(token)) from None
    commit = info.sha or "main"
    files = [f for f in files_from_siblings(info.siblings) if f.path != ".gitattributes"]
    names = {f.path for f in files}
    config: dict[str, Any] | None = None
    if "config.json" in names:
        config = _json_or_none(_fetch_small(repo_id, "config.json", commit, token))
    variants = group_variants(files, config)
    shapes: dict[str, ModelShape] = {}
    if config is not None and (shape := shape_from_config(config)) is not None:
        shapes["mlx"] = shape
    ggufs = [v for v in variants if v.format == "gguf"]
    if ggufs:
        # All quantizations share one architecture: the smallest variant's header will do.
        first = ggufs[0].first_weights_file
        if first is not None and (shape := _remote_gguf_shape(repo_id, first.path, commit, token)) is not None:
            shapes["gguf"] = shape
    card = _fetch_small(repo_id, "README.md", commit, token) if "README.md" in names else None
    gguf = info.gguf or {}
    text_config = (config or {}).get("text_config") or config or {}
    return ModelPage(
        repo_id=info.id,
        commit=commit,
        license=_license(info),
        architecture=gguf.get("architecture") or text_config.get("model_type") or _first(text_config, "architectures"),
        parameter_count=gguf.get("total") or _safetensors_parameters(info, config),
        context_length=gguf.get("context_length") or text_config.get("max_position_embeddings"),
        gated=bool(info.gated),
        card_excerpt=card_excerpt(card or ""),
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        files=files,
        variants=variants,
        shapes=shapes,
    )


def _license(info: Any) -> str | None:
    card = getattr(info, "card_data", None)
    value = getattr(card, "license", None) if card is not None else None
    if value:
        return str(value)
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def _first(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    return str(value[0]) if isinstance(value, list) and value else None


def _safetensors_parameters(info: Any, config: dict[str, Any] | None) -> int | None:
    """The Hub counts packed 4-bit weights as one U32 each; unpack them with the config's bits."""
    st = getattr(info, "safetensors", None)
    if not st:
        return None
    quant = (config or {}).get("quantization") or {}
    bits = quant.get("bits") if isinstance(quant, dict) else None
    total = 0
    for dtype, count in (st.parameters or {}).items():
        total += count * 32 // int(bits) if bits and dtype == "U32" else count
    return total or st.total


def _json_or_none(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_range(repo_id: str, path: str, commit: str, token: str | None, start: int, stop: int) -> bytes:
    """Bytes [start, stop) of a file, or fewer where it ends; streamed, so a server ignoring the range costs nothing."""
    headers = request_headers(token)
    headers["Range"] = f"bytes={start}-{stop - 1}"
    url = file_url(repo_id, path, commit)
    with http_session().stream("GET", url, headers=headers, follow_redirects=True, timeout=TIMEOUT_S) as response:
        if response.status_code == 416:
            return b""
        raise_for_status(response)
        skip = start if response.status_code == 200 else 0
        parts: list[bytes] = []
        have = 0
        for chunk in response.iter_raw():
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            parts.append(chunk)
            have += len(chunk)
            if have >= stop - start:
                break
        return b"".join(parts)[: stop - start]


def _fetch_small(repo_id: str, path: str, commit: str, token: str | None) -> str | None:
    """A small text file (card, config); None when it cannot be had (the page still shows)."""
    try:
        return _read_range(repo_id, path, commit, token, 0, SMALL_FILE_LIMIT).decode("utf-8", errors="replace")
    except Exception as exc:
        error = explain(exc, repo_id, with_token=bool(token))
        if isinstance(error, OfflineError):
            raise error from None
        return None


def _remote_gguf_shape(repo_id: str, path: str, commit: str, token: str | None) -> ModelShape | None:
    """The architecture from the GGUF header, read in growing ranges (a few MB: the vocabulary is in it)."""
    from engines.gguf_header import GGUFFormatError, GGUFTruncatedError, parse_gguf_prefix

    data = b""
    want = GGUF_HEADER_FIRST_READ
    while want <= GGUF_HEADER_MAX:
        try:
            data += _read_range(repo_id, path, commit, token, len(data), want)
        except Exception as exc:
            error = explain(exc, repo_id, with_token=bool(token))
            if isinstance(error, OfflineError):
                raise error from None
            return None  # a gated file and the like: the page shows an unknown fit instead
        try:
            header = parse_gguf_prefix(data)
            return shape_from_gguf(header.metadata, header.array_lengths)
        except GGUFTruncatedError:
            if len(data) < want:
                return None  # the file ends inside its header
            want *= 4
        except GGUFFormatError:
            return None
    return None


_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]+>")


def card_excerpt(markdown: str, limit: int = CARD_EXCERPT_CHARS) -> str:
    """The README as readable text: no front matter, images, HTML or tables; whole paragraphs up to `limit`."""
    text = _FRONT_MATTER.sub("", markdown)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML.sub("", text)
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines()]
        lines = [line for line in lines if line and not line.startswith("|") and not line.startswith("```")]
        if not lines:
            continue
        paragraph = " ".join(line.lstrip("#").strip() if line.startswith("#") else line for line in lines)
        paragraphs.append(paragraph)
    out = ""
    for paragraph in paragraphs:
        if out and len(out) + len(paragraph) + 2 > limit:
            break
        out = f"{out}\n\n{paragraph}" if out else paragraph
    return out[:limit].strip()


def choose_variant(page: ModelPage, key: str) -> Variant:
    for variant in page.variants:
        if variant.key == key:
            return variant
    raise LibraryError(f"{page.repo_id} has no variant '{key}'.")
