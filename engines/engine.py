"""The Engine protocol: what the engine host calls on a loaded model, and what both engines implement.

One engine instance holds one loaded model and is driven from the one thread that loaded it
(MLX streams and llama.cpp contexts belong to the thread that made them). A type checker holds
`LlamaCppEngine` and `MlxEngine` to this protocol where the host creates them (engines/host.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from engines.base import EngineName, LoadSettings, Message, ModelInfo, ProgressCallback, ReplyEvent
from engines.prompting import Prompt
from engines.protocol import ReplyRequest


class Engine(Protocol):
    name: EngineName

    def load(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> ModelInfo:
        """Load the model; returns its description completed with what loading learned."""
        ...

    def describe(self) -> ModelInfo:
        """The loaded model, or NotLoadedError."""
        ...

    def unload(self) -> None: ...

    def prompt(self, request: ReplyRequest) -> Prompt:
        """The exact prompt a reply to `request` starts from: its text, ids and the template used."""
        ...

    def tokenize_prompt(self, messages: list[Message]) -> list[int]: ...

    def generate(self, request: ReplyRequest, should_stop: Callable[[], bool]) -> Iterator[ReplyEvent]:
        """Stream a reply. The last event is always Finished; should_stop is checked every token."""
        ...

    def after_reply(self) -> None:
        """Work that can wait until a reply's Finished is sent (writing the prompt cache to disk)."""
        ...

    def greedy_trace(
        self, messages: list[Message], count: int, forced: list[int] | None = None
    ) -> tuple[list[int], list[float]]:
        """Greedy tokens and each one's lead over the runner-up (a diagnostic for engine parity)."""
        ...

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalized vector per text (a model loaded with embedding on); InvalidRequestError otherwise."""
        ...
