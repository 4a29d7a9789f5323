"""Parlour's local store: every conversation in one SQLite file on this machine.

Plain Python, no Qt. Modules, each with one job:

- db: open the store (damaged files moved aside, newer ones refused), transactions, durability
- erasure: deleted text erased from the files too (secure_delete, FTS5 secure-delete, index merges)
- schema: the forward migrations; recovery: cheap damage checks, moving a file aside
- conversations, messages, branches: conversations and their message trees
- replies: streaming a reply with checkpoints; interrupted replies, continue, regenerate
- search: full-text search with ranked, highlighted snippets
- export, import_json: Markdown and lossless JSON out, JSON back in
- presets, templates: named parameters, chat templates and per-model overrides
- settings: one enum of keys with typed get/put, and each model's own parameter defaults
- instance: one app owns the store (the commands that use the store live in app/cli)
- files: atomic, private writes that refuse FIFOs and devices; terminal_text: stored text made printable
"""
