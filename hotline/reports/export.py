"""CSV export of a ticket search, streamed row batch by row batch.

A year of tickets is about a million rows, so nothing is built in memory: the rows come
from the database in batches and leave as CSV text as they come. On PostgreSQL one
server-side cursor streams the whole result (`yield_per`). On SQLite every transaction
starts with BEGIN IMMEDIATE (see hotline.database), so one long read would hold the
write lock for the whole export; there the rows come in keyset pages (`id < last`),
each read on its own short connection.

The file starts with a UTF-8 byte order mark so that Excel reads the Chinese text
correctly. Cells a citizen typed are guarded against spreadsheet formula injection.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.tickets.models import Ticket

BOM = "\ufeff"
BATCH = 2000
HEADERS = ["工单编号", "受理时间", "渠道", "诉求类型", "紧急程度", "分类", "标题", "状态", "主办单位", "所属区县",
           "办结时间", "联系电话"]
_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![\d\s-]*$)")


def export_statement(where) -> sa.Select:
    """Columns of the export for the tickets matching `where` (a search's WHERE clause).

    Aliases keep the search's own subqueries on categories and units from correlating
    with the joins here.
    """
    category, lead, district = aliased(Category), aliased(Unit), aliased(Unit)
    stmt = (sa.select(Ticket.id, Ticket.number, Ticket.created_at, Ticket.channel, Ticket.request_type,
                      Ticket.urgency, category.full_name.label("category"), Ticket.title, Ticket.state,
                      lead.name.label("lead_unit"), district.name.label("district"), Ticket.closed_at,
                      Ticket.caller_phone, Ticket.confidential)
            .select_from(Ticket)
            .join(category, category.id == Ticket.category_id)
            .outerjoin(lead, lead.id == Ticket.lead_unit_id)
            .outerjoin(district, district.id == Ticket.district_id))
    return stmt if where is None else stmt.where(where)


def _safe(text: str) -> str:
    """A leading = + - @ makes a spreadsheet formula of the cell; a quote keeps it text
    (a phone number like +86 138… stays as it is)."""
    return "'" + text if text and _FORMULA.match(text) else text


def _dt(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _cells(row, show_confidential: bool) -> list[str]:
    phone = row.caller_phone if show_confidential or not row.confidential else ""
    return [row.number, _dt(row.created_at), row.channel.label, row.request_type.label, row.urgency.label,
            row.category, _safe(row.title), row.state.label, row.lead_unit or "", row.district or "",
            _dt(row.closed_at), _safe(phone)]


def _batches(engine: sa.Engine, stmt: sa.Select, ascending: bool, batch: int) -> Iterator[list]:
    order = Ticket.id.asc() if ascending else Ticket.id.desc()
    if engine.dialect.name == "sqlite":
        last = None
        while True:
            page = stmt.order_by(order).limit(batch)
            if last is not None:
                page = page.where(Ticket.id > last if ascending else Ticket.id < last)
            with engine.connect() as conn:
                rows = conn.execute(page).all()
            if not rows:
                return
            yield rows
            last = rows[-1].id
    else:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(stmt.order_by(order))
            yield from result.partitions()


def csv_chunks(engine: sa.Engine, where, *, show_confidential: bool, ascending: bool = False,
               batch: int = BATCH) -> Iterable[bytes]:
    """The export as UTF-8 byte chunks (BOM and header first), one chunk per row batch.

    It needs no Flask context: it reads through `engine` on connections of its own, so
    the request's session is closed as usual when the view returns, before the first
    row is read (on SQLite its open transaction would otherwise hold the write lock for
    the whole download)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    yield (BOM + buf.getvalue()).encode("utf-8")
    for rows in _batches(engine, export_statement(where), ascending, batch):
        buf.seek(0)
        buf.truncate()
        writer.writerows(_cells(r, show_confidential) for r in rows)
        yield buf.getvalue().encode("utf-8")
