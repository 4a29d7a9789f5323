"""The store's schema as a chain of forward migrations.

`PRAGMA user_version` holds the number of migrations applied. A new database
runs the whole chain, so a store created today and one created by the first
release and upgraded since end up with the same schema (tests check this from
every earlier version). Never edit a migration that has shipped: add one.

Statements are kept one per string because Python's `executescript` commits
any open transaction first, and all migrations must run in one transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    purpose: str
    statements: tuple[str, ...]


# Porter stemming lets "install" find "installing"; remove_diacritics 2 lets "cafe" find "café".
_TOKENIZER = "porter unicode61 remove_diacritics 2"

_CONVERSATIONS_AND_MESSAGES = Migration(
    1,
    "conversations and their message trees",
    (
        # current_leaf_id has no foreign key: the two tables would reference each other, and every
        # deleted message would need a scan of conversations. The code falls back to the newest leaf.
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL DEFAULT '',
            title_is_custom INTEGER NOT NULL DEFAULT 0 CHECK (title_is_custom IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            model TEXT,
            engine TEXT,
            parameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),
            folder TEXT,
            pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            current_leaf_id INTEGER,
            template TEXT,
            system_prompt TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX conversations_by_recency ON conversations (pinned, updated_at)",
        # parent_id has no ON DELETE CASCADE: SQLite runs cascades as nested triggers, and a long
        # thread would pass its depth limit. Branches are deleted whole, in one statement.
        # Text columns come last: SQLite reads a row's columns in order, so metadata queries
        # (walking parents, checking status) never have to follow a long reply's overflow pages.
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages (id),
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('done', 'streaming', 'interrupted')),
            created_at TEXT NOT NULL,
            model TEXT,
            prompt_tokens INTEGER,
            generated_tokens INTEGER,
            cached_tokens INTEGER,
            time_to_first_token_s REAL,
            tokens_per_second REAL,
            finish_reason TEXT CHECK (finish_reason IN ('stop', 'length', 'cancelled', 'error')),
            error TEXT,
            reasoning TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX messages_by_conversation ON messages (conversation_id, parent_id)",
        "CREATE INDEX messages_by_parent ON messages (parent_id)",
        # Tiny: only replies being streamed, so marking them interrupted at start needs no table scan.
        "CREATE INDEX messages_streaming ON messages (id) WHERE status = 'streaming'",
    ),
)

_SEARCH = Migration(
    2,
    "full-text search over message text and titles",
    (
        # External content: the text lives once, in messages; the index only points at it.
        f"""
        CREATE VIRTUAL TABLE message_search USING fts5 (
            content, content='messages', content_rowid='id', tokenize='{_TOKENIZER}'
        )
        """,
        # A reply is indexed once it stops streaming, so the half-second checkpoints of a
        # growing reply do not rewrite its index entries each time.
        """
        CREATE TRIGGER message_search_insert AFTER INSERT ON messages
        WHEN new.status != 'streaming'
        BEGIN
            INSERT INTO message_search (rowid, content) VALUES (new.id, new.content);
        END
        """,
        """
        CREATE TRIGGER message_search_delete AFTER DELETE ON messages
        WHEN old.status != 'streaming'
        BEGIN
            INSERT INTO message_search (message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
        END
        """,
        """
        CREATE TRIGGER message_search_update AFTER UPDATE OF content, status ON messages
        BEGIN
            INSERT INTO message_search (message_search, rowid, content)
                SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
            INSERT INTO message_search (rowid, content)
                SELECT new.id, new.content WHERE new.status != 'streaming';
        END
        """,
        """
        INSERT INTO message_search (rowid, content)
            SELECT id, content FROM messages WHERE status != 'streaming'
        """,
        f"""
        CREATE VIRTUAL TABLE title_search USING fts5 (
            title, content='conversations', content_rowid='id', tokenize='{_TOKENIZER}'
        )
        """,
        """
        CREATE TRIGGER title_search_insert AFTER INSERT ON conversations
        BEGIN
            INSERT INTO title_search (rowid, title) VALUES (new.id, new.title);
        END
        """,
        """
        CREATE TRIGGER title_search_delete AFTER DELETE ON conversations
        BEGIN
            INSERT INTO title_search (title_search, rowid, title) VALUES ('delete', old.id, old.title);
        END
        """,
        """
        CREATE TRIGGER title_search_update AFTER UPDATE OF title ON conversations
        BEGIN
            INSERT INTO title_search (title_search, rowid, title) VALUES ('delete', old.id, old.title);
            INSERT INTO title_search (rowid, title) VALUES (new.id, new.title);
        END
        """,
        "INSERT INTO title_search (rowid, title) SELECT id, title FROM conversations",
    ),
)

_PRESETS_TEMPLATES_SETTINGS = Migration(
    3,
    "parameter presets, chat templates, per-model template overrides and settings",
    (
        """
        CREATE TABLE presets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (trim(name) != ''),
            parameters TEXT NOT NULL CHECK (json_valid(parameters)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE templates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (trim(name) != ''),
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        # The override keeps its own copy of the source, so editing or deleting a named
        # template never silently changes how an existing model renders.
        """
        CREATE TABLE model_template_overrides (
            model TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL CHECK (json_valid(value)),
            updated_at TEXT NOT NULL
        )
        """,
    ),
)

_GENERATION_STATS = Migration(
    4,
    "a reply's statistics kept whole, under the engine's names and units (GenerationStats)",
    (
        # Renamed, not copied: the figures stay where they are and no old column lingers. Rows
        # written before keep their values; the time to first token goes from seconds to ms.
        "ALTER TABLE messages RENAME COLUMN time_to_first_token_s TO ttft_ms",
        "ALTER TABLE messages RENAME COLUMN tokens_per_second TO generation_tps",
        "UPDATE messages SET ttft_ms = ttft_ms * 1000.0 WHERE ttft_ms IS NOT NULL",
        # Added columns go after the text ones; they are read with the whole row, never on their own.
        "ALTER TABLE messages ADD COLUMN prompt_tps REAL",
        "ALTER TABLE messages ADD COLUMN peak_memory_bytes INTEGER",
        "ALTER TABLE messages ADD COLUMN dropped_turns INTEGER",
    ),
)

_EVALUATIONS = Migration(
    5,
    "evaluation sets, and the runs of them kept with each reply and check",
    (
        # A set is kept as the JSONL it is imported and exported as: one format, checked on the way in.
        """
        CREATE TABLE eval_sets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (trim(name) != ''),
            jsonl TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        # A run keeps the set as it was then, so a later edit never rewrites an old scoreboard.
        """
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            set_name TEXT NOT NULL,
            set_jsonl TEXT NOT NULL,
            parameters TEXT NOT NULL CHECK (json_valid(parameters)),
            started_at TEXT NOT NULL,
            finished_at TEXT
        )
        """,
        """
        CREATE TABLE eval_results (
            run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            case_id TEXT NOT NULL,
            reply TEXT NOT NULL,
            error TEXT,
            verdicts TEXT NOT NULL CHECK (json_valid(verdicts)),
            stats TEXT NOT NULL CHECK (json_valid(stats)),
            PRIMARY KEY (run_id, model, case_id)
        )
        """,
    ),
)

_COMPARISONS = Migration(
    6,
    "comparisons: a conversation kind whose columns are models answering the same prompts",
    (
        "ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'comparison'))",
        # A column's messages are a path in the conversation's message tree (the first prompt is shared,
        # each follow-up is asked once per column); leaf_id is the column's last message.
        """
        CREATE TABLE comparison_columns (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL CHECK (position >= 0),
            model_name TEXT NOT NULL,
            model_path TEXT NOT NULL,
            engine TEXT NOT NULL DEFAULT 'auto',
            leaf_id INTEGER,
            PRIMARY KEY (conversation_id, position)
        )
        """,
        # The person's verdict on each round of prompts: the winning column's position, or -1 for a tie.
        """
        CREATE TABLE comparison_verdicts (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            turn INTEGER NOT NULL CHECK (turn >= 0),
            winner INTEGER NOT NULL CHECK (winner >= -1),
            PRIMARY KEY (conversation_id, turn)
        )
        """,
    ),
)

_TOOL_CALLS = Migration(
    7,
    "tool calls kept with their messages",
    (
        # JSON, in the OpenAI shape: on an assistant message the calls it made; on a tool message the one
        # call its content answers (so a result always says which tool, with which arguments, it came from).
        "ALTER TABLE messages ADD COLUMN tool_calls TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls))",
    ),
)

_MODEL_LOAD_SETTINGS = Migration(
    8,
    "each model's own load settings: only what the person changed, over the defaults",
    (
        # Keyed like model_template_overrides (templates.model_key: the absolute path). A JSON object of
        # LoadSettings fields; the reader drops what no longer makes valid settings (load_settings.py).
        """
        CREATE TABLE model_load_settings (
            model TEXT PRIMARY KEY,
            overrides TEXT NOT NULL CHECK (json_valid(overrides)),
            updated_at TEXT NOT NULL
        )
        """,
    ),
)

_DRAFT_AND_DISK_STATS = Migration(
    9,
    "a reply's speculative decoding and prompt-cache-on-disk figures",
    (
        # GenerationStats' new fields, one column each as migration 4 laid them out; NULL for older replies.
        "ALTER TABLE messages ADD COLUMN draft_tokens INTEGER",
        "ALTER TABLE messages ADD COLUMN accepted_draft_tokens INTEGER",
        "ALTER TABLE messages ADD COLUMN disk_cached_tokens INTEGER",
    ),
)

_DOCUMENTS = Migration(
    10,
    "documents in chats: a message's attachments and a reply's citations, and each chat's collections",
    (
        # JSON lists, NULL where there are none: on a user message the absolute paths of the files attached to it;
        # on a reply the Citation dicts (app.documents.passages) of the passages its prompt was given.
        "ALTER TABLE messages ADD COLUMN attachments TEXT CHECK (attachments IS NULL OR json_valid(attachments))",
        "ALTER TABLE messages ADD COLUMN citations TEXT CHECK (citations IS NULL OR json_valid(citations))",
        # The document collections a chat searches for every question; a collection is named, not referenced:
        # the index lives in its own file, and a deleted collection simply stops being found.
        """
        CREATE TABLE conversation_collections (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            collection TEXT NOT NULL CHECK (trim(collection) != ''),
            PRIMARY KEY (conversation_id, collection)
        )
        """,
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _CONVERSATIONS_AND_MESSAGES,
    _SEARCH,
    _PRESETS_TEMPLATES_SETTINGS,
    _GENERATION_STATS,
    _EVALUATIONS,
    _COMPARISONS,
    _TOOL_CALLS,
    _MODEL_LOAD_SETTINGS,
    _DRAFT_AND_DISK_STATS,
    _DOCUMENTS,
)
LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def migrate(connection: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the database up to the last of `migrations` in one transaction; returns the version.

    The caller has checked the database is not newer than we know. The version is read again
    inside the write lock, so two processes opening an old store at once migrate it only once.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(connection)
        for migration in migrations:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                connection.execute(statement)
            # PRAGMA takes no parameters; the version is our own integer.
            connection.execute(f"PRAGMA user_version = {int(migration.version)}")
            current = migration.version
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return current
