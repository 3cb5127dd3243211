"""bench/grow.py: a generated year grown into three (and topped up to a ticket count) on
PostgreSQL keeps its numbers unique, its references whole and no old ticket open."""
import os
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hotline.extensions import db
from tests.conftest import START

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _scalar(sql):
    return db.session.scalar(sa.text(sql))


def test_grow_copies_closed_history_back_by_whole_weeks(app, db_kind):
    if db_kind != "postgresql":
        pytest.skip("bench/grow.py runs on PostgreSQL")
    from bench._data import realistic_history, realistic_world
    from bench.grow import grow

    _, districts, handlers, leaves, users = realistic_world()
    realistic_history(400, districts, handlers, leaves, users, end=START, echo=lambda msg: None)
    closed = _scalar("SELECT count(*) FROM tickets WHERE state = 'closed'")
    assert 0 < closed < 400
    events = _scalar("SELECT count(*) FROM ticket_events")
    indexes = _scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'tickets'")
    db.session.commit()
    try:
        figures = grow(db.engine, 3, target=400 + 2 * closed + 50, check=True, echo=lambda msg: None)
        db.session.remove()
        # three years (the copies without the source's open tickets), and a thinned fourth
        assert figures["tickets"] == 400 + 2 * closed + 50
        assert not any(figures["orphans"].values())
        assert _scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'tickets'") == indexes
        assert _scalar("SELECT count(*) - count(DISTINCT number) FROM tickets") == 0
        assert _scalar("SELECT count(*) - count(DISTINCT code) FROM supervision_cases") == 0
        # numbers and codes follow the moved dates and the new ids
        assert _scalar("SELECT count(*) FROM tickets WHERE number <> '12345-' || to_char(created_at, 'YYYYMMDD') "
                       "|| '-' || lpad(id::text, 7, '0')") == 0
        assert _scalar("SELECT count(*) FROM supervision_cases WHERE code <> 'DB-' || to_char(opened_at, 'YYYY') "
                       "|| '-' || lpad(id::text, 6, '0')") == 0
        # nothing older than the source year is open; the moved rows keep their weekdays
        year_ago = START - timedelta(days=366)
        assert db.session.scalar(sa.text("SELECT count(*) FROM tickets WHERE created_at < :t AND state <> 'closed'"),
                                 {"t": year_ago}) == 0
        assert db.session.scalar(sa.text("SELECT count(*) FROM supervision_cases WHERE opened_at < :t "
                                         "AND state <> 'closed'"), {"t": year_ago}) == 0
        assert _scalar("SELECT count(*) FROM tickets a JOIN tickets b ON b.id = a.id - 400 "
                       "WHERE b.created_at <> a.created_at - interval '364 days' "
                       "OR b.closed_at <> a.closed_at - interval '364 days'") == 0
        # ids follow time as the application's do: the source year has the highest ids, and
        # the oldest (thinned) copy the lowest
        assert _scalar("SELECT min(id) FROM tickets WHERE state <> 'closed'") > 3 * 400
        assert _scalar("SELECT max(id) FROM tickets WHERE created_at < "
                       "(SELECT min(created_at) FROM tickets WHERE id > 3 * 400)") <= 3 * 400
        assert _scalar("SELECT count(*) FROM tickets WHERE id <= 400") == 0
        # every copy carries its ticket's whole trail
        assert _scalar("SELECT count(*) FROM ticket_events") > 2.5 * events
        assert _scalar("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                       "WHERE e.at < t.created_at") == 0
        assert _scalar("SELECT count(*) FROM assignment_versions v JOIN assignments a ON a.id = v.assignment_id "
                       "WHERE a.ticket_id <> v.ticket_id") == 0
        # the sequences moved past the copies
        assert _scalar("SELECT nextval(pg_get_serial_sequence('ticket_events', 'id')) > max(id) "
                       "FROM ticket_events")
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("COMMENT ON TABLE tickets IS NULL")
