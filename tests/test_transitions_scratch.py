from datetime import datetime
import sqlalchemy as sa
from hotline.tickets import services as svc
from hotline.extensions import db
from hotline.tickets.models import Ticket

def test_probe(world, db_kind):
    if db_kind != "sqlite": return
    t = world.signed()
    v = t.version
    stmts = []
    def cb(conn, cursor, statement, params, context, executemany):
        if not statement.startswith("SELECT"): stmts.append((statement, params))
    sa.event.listen(db.engine, "before_cursor_execute", cb)
    svc.hand_down(t.id, world.district_staff, v, world.street.id)
    sa.event.remove(db.engine, "before_cursor_execute", cb)
    for s in stmts: print(s)
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert t.version == v + 1
