"""pages at a million tickets: Chinese text search by character grams, open-work indexes

Text search: `tickets.search_grams` holds every character bigram of title, content and
address (lower-cased, grams with a space or line break left out) and every single
character, as a tsvector with a GIN index. A query word's grams must all be present (the
index narrows), then the substring condition the search always had is checked on the
rows found, so the results are exactly those of the substring search. PostgreSQL keeps
the column itself (a BEFORE INSERT OR UPDATE OF title, content, address trigger), so the
ORM, the API and bulk COPY loads all leave it right. The backfill rewrites every ticket
in batches of 20 000 while the table stays in use, then builds the indexes CONCURRENTLY
(docs/scaling.md has its time at 1 000 000 tickets); SQLite keeps the column NULL and searches with LIKE.

Open work: partial indexes of the active / open assignments by unit (queue counts and
the unit scope read a few percent of the table instead of all of it), and tickets by
updated_at (the search page's 最近更新 order).

Revision ID: c3f9a1e5b2d7
Revises: 5a17ef0c14aa
Create Date: 2026-11-30 23:05:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "c3f9a1e5b2d7"
down_revision = "5a17ef0c14aa"
branch_labels = None
depends_on = None

#: The grams of a text (see the module docstring). IMMUTABLE: lower() of the database's
#: collation is; the query side (hotline_search_query) uses the same lower().
GRAMS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hotline_search_grams(doc text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_to_tsvector(array_remove(
    regexp_split_to_array(regexp_replace(lower(coalesce(doc, '')), '(..)', '\1 ', 'g') || ' ' ||
                          regexp_replace(substr(lower(coalesce(doc, '')), 2), '(..)', '\1 ', 'g'), '\s+')
    || regexp_split_to_array(regexp_replace(lower(coalesce(doc, '')), '\s+', '', 'g'), ''), ''))
$$
"""
# (The pairs at even offsets, then at odd offsets, each followed by a space; split at
# whitespace, which also drops the grams that span a space or line break; then every
# character. One expression of built-in functions, so PostgreSQL inlines it: about 7×
# faster than generating the grams with generate_series, which matters for the backfill.)

#: The tsquery a word must match: all its bigrams (its one character when it has one).
QUERY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hotline_search_query(word text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT string_agg('''' || replace(replace(g, '\', '\\'), '''', '''''') || '''', ' & ')::tsquery
  FROM (
    SELECT DISTINCT substr(w, i, least(2, length(w))) AS g
    FROM (SELECT lower(word) AS w) s, generate_series(1, greatest(length(w) - 1, 1)) AS i
    WHERE length(w) > 0
  ) grams
$$
"""

TRIGGER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hotline_tickets_search_grams() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_grams := hotline_search_grams(concat_ws(E'\n', NEW.title, NEW.content, NEW.address));
  RETURN NEW;
END
$$
"""

TRIGGER = """
CREATE TRIGGER tickets_search_grams BEFORE INSERT OR UPDATE OF title, content, address ON tickets
FOR EACH ROW EXECUTE FUNCTION hotline_tickets_search_grams()
"""

OPEN = "active AND state IN ('dispatched', 'signed')"
HANDLER = "active AND handler_unit_id IS NOT NULL"


BATCH = 20_000


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_grams", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
                                      nullable=True))
    if bind.dialect.name != "postgresql":
        op.create_index("ix_tickets_search_grams", "tickets", ["search_grams"])
        op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"])
        op.create_index("ix_assignments_open_unit", "assignments", ["state", "unit_id", "handler_unit_id", "ticket_id"],
                        sqlite_where=sa.text(OPEN))
        op.create_index("ix_assignments_active_unit", "assignments", ["unit_id", "ticket_id"],
                        sqlite_where=sa.text("active"))
        op.create_index("ix_assignments_active_handler", "assignments", ["handler_unit_id", "ticket_id"],
                        sqlite_where=sa.text(HANDLER))
        return
    op.execute(GRAMS_FUNCTION)
    op.execute(QUERY_FUNCTION)
    op.execute(TRIGGER_FUNCTION)
    op.execute(TRIGGER)
    # Online from here: commit the new column and the trigger (new and changed tickets get
    # their grams from now on), then fill the existing ones in batches of their own
    # transactions and build the indexes CONCURRENTLY, so the tickets stay readable and
    # writable throughout (one transaction would hold the column's ACCESS EXCLUSIVE lock
    # for the whole backfill).
    with op.get_context().autocommit_block():
        lo, hi = bind.execute(sa.text("SELECT min(id), max(id) FROM tickets")).one()
        for start in range(lo or 0, (hi or -1) + 1, BATCH):
            bind.execute(sa.text("UPDATE tickets SET search_grams = "
                                 "hotline_search_grams(concat_ws(E'\\n', title, content, address)) "
                                 "WHERE id >= :lo AND id < :hi AND search_grams IS NULL"),
                         {"lo": start, "hi": start + BATCH})
        kw = dict(postgresql_concurrently=True, if_not_exists=True)
        op.create_index("ix_tickets_search_grams", "tickets", ["search_grams"], postgresql_using="gin", **kw)
        op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"], **kw)
        op.create_index("ix_assignments_open_unit", "assignments", ["state", "unit_id", "handler_unit_id", "ticket_id"],
                        postgresql_where=sa.text(OPEN), **kw)
        op.create_index("ix_assignments_active_unit", "assignments", ["unit_id", "ticket_id"],
                        postgresql_where=sa.text("active"), **kw)
        op.create_index("ix_assignments_active_handler", "assignments", ["handler_unit_id", "ticket_id"],
                        postgresql_where=sa.text(HANDLER), **kw)
        op.execute("ANALYZE tickets")
        op.execute("ANALYZE assignments")


def downgrade():
    bind = op.get_bind()
    op.drop_index("ix_assignments_active_handler", table_name="assignments")
    op.drop_index("ix_assignments_active_unit", table_name="assignments")
    op.drop_index("ix_assignments_open_unit", table_name="assignments")
    op.drop_index("ix_tickets_updated_at", table_name="tickets")
    op.drop_index("ix_tickets_search_grams", table_name="tickets")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tickets_search_grams ON tickets")
        op.execute("DROP FUNCTION IF EXISTS hotline_tickets_search_grams()")
        op.execute("DROP FUNCTION IF EXISTS hotline_search_query(text)")
        op.execute("DROP FUNCTION IF EXISTS hotline_search_grams(text)")
    # A plain ALTER TABLE … DROP COLUMN on both (SQLite >= 3.35): a batch copy of tickets
    # would fail SQLite's foreign keys once other rows refer to tickets.
    op.drop_column("tickets", "search_grams")
