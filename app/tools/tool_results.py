"""A tool's result as the text the model reads.

Text contents are joined with blank lines. Other content is named, never passed on: the local models
Parlour runs read text only, and a base64 image in the prompt would only waste the context. An image or
audio clip becomes "[image/png image, 12 KB, not shown]"; a resource link its name and address; an
embedded resource its text, or a note for binary data. A result with no content but structured content
gives that as JSON. The whole text is cut to a limit, with a note saying how long it was.
"""

from __future__ import annotations

import json

from mcp import types

DEFAULT_RESULT_LIMIT = 32_000  # characters, about 8,000 tokens: more than a small model's context can spare


def result_text(result: types.CallToolResult, limit: int = DEFAULT_RESULT_LIMIT) -> str:
    parts = [_content_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return truncated("\n\n".join(parts), limit)


def truncated(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n[The result was cut to its first {limit:,} of {len(text):,} characters.]"


def _content_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{block.mime_type} {kind}, {_size(len(block.data) * 3 // 4)}, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource: {block.name} at {block.uri}]"
    resource = block.resource
    if isinstance(resource, types.TextResourceContents):
        return resource.text
    size = _size(len(resource.blob) * 3 // 4)
    return f"[{resource.mime_type or 'binary'} resource at {resource.uri}, {size}, not shown]"


def _size(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size // 1024} KB"
