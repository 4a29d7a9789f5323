"""`parlour serve`: the local models behind an OpenAI- and Anthropic-compatible HTTP API.

- security: the bearer token (kept in the keyring), the allowed hosts and origins, body limits.
- registry: which local model an id names, loading it just in time, the fair bounded queue, idle unload.
- replies: one engine reply as an async stream of typed events, cancelled when its client goes.
- openai_api / anthropic_api: the endpoints, in each API's own shapes (errors included).
- app: the Starlette application that puts them together.
"""
