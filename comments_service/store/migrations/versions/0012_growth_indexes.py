"""indexes for a million comments, text search, and PostgreSQL's one-round-trip post

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01 09:10:00

- ix_comments_created_id: the staff queue's "all" and per-status tabs list newest first;
  without it every such page sorts the whole table.
- ix_comments_queue: the pending queue in its order (urgent first, then oldest), so its
  first page is read from the index in order, not sorted. (The spam score, which 0010 on
  another branch adds, is not in it: this branch must not depend on that one.)
- Text search of the queue (body and name, substring, any case):
  PostgreSQL: trigram GIN indexes on body and author_name (pg_trgm), which
  the queue's ``x ILIKE '%q%'`` uses as it is. Where the extension cannot be
  created (no rights), the migration goes on without them and search scans, as before.
  SQLite: an FTS5 table with the trigram tokenizer over the same two columns, kept by
  triggers, which the queue asks for queries of 3 characters or more.
- comments_admit(): on PostgreSQL, a post's advisory lock, parent check, rate limits,
  duplicate check and insert in one function, so storing a post is one round trip.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None

# Arguments in this order (verbs/comments.py calls it by position). Returns the new id,
# or -1 over a rate limit, -2 a duplicate, -3 a parent that is not a published comment
# of this article; the caller says why (and Retry-After) with the existing queries.
ADMIT_FUNCTION = """
CREATE OR REPLACE FUNCTION comments_admit(
    p_article_id varchar, p_parent_id integer, p_author_name varchar,
    p_email_encrypted text, p_email_hash varchar, p_body text, p_body_html text,
    p_body_hash varchar, p_status varchar, p_urgent boolean, p_urgent_reasons text,
    p_created_at timestamptz, p_ip_hash varchar, p_notify boolean, p_notified boolean,
    p_spam_score double precision, p_spam_reasons text, p_screening_note varchar,
    p_lock_key bigint, p_since timestamptz, p_limit integer, p_address_limit integer,
    p_max_depth integer
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    parent record;
    ancestor record;
    new_parent integer := NULL;
    new_depth integer := 0;
    new_id integer;
BEGIN
    IF p_parent_id IS NOT NULL THEN
        SELECT id, article_id, status, depth, parent_id INTO parent
          FROM comments WHERE id = p_parent_id;
        IF NOT FOUND OR parent.article_id <> p_article_id OR parent.status <> 'approved' THEN
            RETURN -3;
        END IF;
        -- A reply to the deepest level lands beside it (verbs/comments.py MAX_DEPTH).
        WHILE parent.depth >= p_max_depth AND parent.parent_id IS NOT NULL LOOP
            SELECT id, article_id, status, depth, parent_id INTO ancestor
              FROM comments WHERE id = parent.parent_id;
            EXIT WHEN NOT FOUND;
            parent := ancestor;
        END LOOP;
        new_parent := parent.id;
        new_depth := least(parent.depth + 1, p_max_depth);
    END IF;
    -- Posts from one address count one after another, even across processes. Each
    -- statement below takes a fresh snapshot, so the counts see posts committed while
    -- this one waited for the lock.
    PERFORM pg_advisory_xact_lock(p_lock_key);
    IF (SELECT count(*) FROM comments WHERE ip_hash = p_ip_hash AND created_at > p_since
          AND email_hash = p_email_hash) >= p_limit
       OR (SELECT count(*) FROM comments WHERE ip_hash = p_ip_hash
          AND created_at > p_since) >= p_address_limit THEN
        RETURN -1;
    END IF;
    IF EXISTS (SELECT 1 FROM comments WHERE article_id = p_article_id
                 AND body_hash = p_body_hash AND status <> 'deleted') THEN
        RETURN -2;
    END IF;
    INSERT INTO comments (article_id, parent_id, depth, author_name, email_encrypted,
        email_hash, body, body_html, body_hash, status, urgent, urgent_reasons, is_staff,
        created_at, updated_at, ip_hash, notify, erased, notified, spam_score, spam_reasons,
        screening_note)
    VALUES (p_article_id, new_parent, new_depth, p_author_name, p_email_encrypted,
        p_email_hash, p_body, p_body_html, p_body_hash, p_status, p_urgent, p_urgent_reasons,
        false, p_created_at, p_created_at, p_ip_hash, p_notify, false, p_notified,
        p_spam_score, p_spam_reasons, p_screening_note)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$
"""
DROP_ADMIT_FUNCTION = "DROP FUNCTION IF EXISTS comments_admit(varchar, integer, varchar, " \
    "text, varchar, text, text, varchar, varchar, boolean, text, timestamptz, varchar, " \
    "boolean, boolean, double precision, text, varchar, bigint, timestamptz, integer, " \
    "integer, integer)"

# External-content FTS5: the index holds trigrams only; the text stays in comments.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE comments_search USING fts5(body, author_name, "
    "content='comments', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER comments_search_insert AFTER INSERT ON comments BEGIN "
    "INSERT INTO comments_search(rowid, body, author_name) "
    "VALUES (new.id, new.body, new.author_name); END",
    "CREATE TRIGGER comments_search_delete AFTER DELETE ON comments BEGIN "
    "INSERT INTO comments_search(comments_search, rowid, body, author_name) "
    "VALUES ('delete', old.id, old.body, old.author_name); END",
    "CREATE TRIGGER comments_search_update AFTER UPDATE OF body, author_name ON comments "
    "BEGIN INSERT INTO comments_search(comments_search, rowid, body, author_name) "
    "VALUES ('delete', old.id, old.body, old.author_name); "
    "INSERT INTO comments_search(rowid, body, author_name) "
    "VALUES (new.id, new.body, new.author_name); END",
    "INSERT INTO comments_search(comments_search) VALUES ('rebuild')",
]
SQLITE_SEARCH_DROP = [
    "DROP TRIGGER IF EXISTS comments_search_insert",
    "DROP TRIGGER IF EXISTS comments_search_delete",
    "DROP TRIGGER IF EXISTS comments_search_update",
    "DROP TABLE IF EXISTS comments_search",
]


def upgrade() -> None:
    op.create_index('ix_comments_created_id', 'comments', ['created_at', 'id'])
    op.create_index('ix_comments_queue', 'comments',
                    ['status', sa.text('urgent DESC'), 'created_at', 'id'])
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _postgresql_search(bind)
        bind.exec_driver_sql(ADMIT_FUNCTION)
    else:
        for statement in SQLITE_SEARCH:
            bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql(DROP_ADMIT_FUNCTION)
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_comments_body_trgm")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_comments_author_trgm")
    else:
        for statement in SQLITE_SEARCH_DROP:
            bind.exec_driver_sql(statement)
    op.drop_index('ix_comments_queue', table_name='comments')
    op.drop_index('ix_comments_created_id', table_name='comments')


def _postgresql_search(bind: sa.Connection) -> None:
    # In a savepoint: a user without the right to create extensions gets no trigram
    # indexes (search then scans, as before) instead of a failed migration.
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return
    bind.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_comments_body_trgm ON comments "
                         "USING gin (body gin_trgm_ops)")
    bind.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_comments_author_trgm ON comments "
                         "USING gin (author_name gin_trgm_ops)")
