"""The catalog's schema: numbered migrations and the columns of ``items``.

Kept apart from :mod:`huisou.core.catalog` (which reads and writes) so the schema's history
reads in one place. Rules: never edit a released migration, append a new one (a library
records how far it got in ``PRAGMA user_version``); statements are separated by ``;`` (a
trigger body's own ``;`` are kept: statements are split where SQLite says one is complete).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: initial schema
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        root TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        added_at REAL NOT NULL,
        last_indexed_at REAL,
        UNIQUE (type, root)
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
        path TEXT NOT NULL UNIQUE,
        folder TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        status TEXT NOT NULL,
        error TEXT,
        format TEXT,
        width INTEGER,
        height INTEGER,
        orientation INTEGER,
        taken_at TEXT,
        taken_at_source TEXT,
        camera_make TEXT,
        camera_model TEXT,
        gps_lat REAL,
        gps_lon REAL,
        group_key TEXT,
        updated_at REAL NOT NULL
    );
    CREATE INDEX items_folder ON items (folder);
    CREATE INDEX items_hash ON items (content_hash);
    CREATE INDEX items_taken_at ON items (taken_at);
    CREATE INDEX items_source ON items (source_id);
    CREATE TABLE models (
        fingerprint TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        name TEXT,
        dimensions INTEGER NOT NULL,
        store TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE embeddings (
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        model TEXT NOT NULL REFERENCES models(fingerprint) ON DELETE CASCADE,
        PRIMARY KEY (item_id, model)
    ) WITHOUT ROWID;
    CREATE INDEX embeddings_model ON embeddings (model);
    """,
    # 2: which model's index run completed last (searches default to it)
    """
    ALTER TABLE models ADD COLUMN completed_at REAL;
    """,
    # 3: retry photos that older versions marked unreadable for a model's fault. Their
    # catch-all handler recorded any exception as "<ExceptionType>: message" against the
    # photo (a broken preprocess_cfg.json failed every photo with "ValueError: ..."), and
    # later runs skipped them. Those rows become "pending" and are read again once; a photo
    # that is really unreadable fails again with today's precise reason. Decoder reasons
    # ("corrupt JPEG: ...", "truncated PNG: ...") never start with an exception type name.
    """
    UPDATE items SET status = 'pending', error = NULL
    WHERE status = 'unreadable'
      AND instr(error, ': ') > 1
      AND instr(substr(error, 1, instr(error, ': ') - 1), ' ') = 0
      AND (substr(error, 1, instr(error, ': ') - 1) GLOB '*Error'
           OR substr(error, 1, instr(error, ': ') - 1) GLOB '*Exception'
           OR substr(error, 1, instr(error, ': ') - 1)
              IN ('ModelNotAvailable', 'InvalidModelDir', 'Fail', 'InvalidArgument',
                  'InvalidGraph', 'NoSuchFile', 'RuntimeException'));
    """,
    # 4: plugin-declared fields (issue 13). ``fields`` records each declaration seen, so a
    # library still describes values whose plugin was uninstalled. ``field_values`` holds one
    # row per value (several for tags); ``value`` has no type affinity, so ints compare as
    # ints and text as text; geo keeps the longitude in ``lon``. ``field_text`` is an FTS5
    # index of every text value with the trigram tokenizer: substring search that works for
    # Chinese (no word segmentation needed) and for partial English words. ``extractions``
    # records which extractor version saw each photo, so a new or upgraded extractor runs on
    # old photos without re-embedding them; ``depends_sig`` is the stat of a photo's sidecar
    # files, so an edited sidecar re-extracts fields. ``library_state`` remembers small facts
    # between runs (the extractor versions of the last complete run: unchanged, no photo is
    # checked for missing extractions).
    """
    CREATE TABLE fields (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        owner TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        fulltext INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE field_values (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        field TEXT NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        value,
        lon REAL,
        provider TEXT NOT NULL,
        UNIQUE (item_id, field, seq)
    );
    CREATE INDEX field_values_by_value ON field_values (field, value);
    CREATE VIRTUAL TABLE field_text USING fts5(
        value, content='field_values', content_rowid='id', tokenize='trigram'
    );
    CREATE TRIGGER field_values_text_added AFTER INSERT ON field_values
    WHEN typeof(new.value) = 'text' BEGIN
        INSERT INTO field_text (rowid, value) VALUES (new.id, new.value);
    END;
    CREATE TRIGGER field_values_text_removed AFTER DELETE ON field_values
    WHEN typeof(old.value) = 'text' BEGIN
        INSERT INTO field_text (field_text, rowid, value) VALUES ('delete', old.id, old.value);
    END;
    CREATE TABLE extractions (
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        extractor TEXT NOT NULL,
        version TEXT NOT NULL,
        PRIMARY KEY (item_id, extractor)
    ) WITHOUT ROWID;
    ALTER TABLE items ADD COLUMN depends_sig TEXT;
    CREATE TABLE library_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)

METADATA_COLUMNS = (
    "format",
    "width",
    "height",
    "orientation",
    "taken_at",
    "taken_at_source",
    "camera_make",
    "camera_model",
    "gps_lat",
    "gps_lon",
)
#: Every column of ``items``, in table order (metadata columns are what extractors fill).
ITEM_COLUMNS = (
    "id",
    "source_id",
    "path",
    "folder",
    "name",
    "size",
    "mtime_ns",
    "content_hash",
    "status",
    "error",
    *METADATA_COLUMNS,
    "group_key",
    "updated_at",
    "depends_sig",
)
