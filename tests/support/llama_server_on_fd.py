"""llama-cpp-python's OpenAI-compatible server on a socket the test already listens on (handed down as a file
descriptor), so a client can connect at once: the kernel queues the connection until the server accepts it,
and no test has to wait for a port to open.

    python tests/support/llama_server_on_fd.py FD MODEL API_KEY
"""

from __future__ import annotations

import sys

import uvicorn
from llama_cpp.server.app import create_app
from llama_cpp.server.settings import ModelSettings, ServerSettings


def main() -> None:
    fd, model, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = create_app(
        server_settings=ServerSettings(api_key=key), model_settings=[ModelSettings(model=model, n_ctx=2048)]
    )
    uvicorn.run(app, fd=fd, log_level="warning")


if __name__ == "__main__":
    main()
