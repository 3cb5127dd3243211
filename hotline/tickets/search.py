"""Keyword search over title, content and address: the same answer on both databases.

A keyword matches a ticket whose title, content or address contains it (case-insensitive
for Latin letters), as a substring: "路灯" finds "小区路灯不亮", "A栋" finds "3a栋". On
PostgreSQL `tickets.search_grams` (kept by the database, see the migration
c3f9a1e5b2d7) holds the ticket's character bigrams and single characters in a GIN
index: a keyword's bigrams (its one character when it has one) must all be there, which
the index answers, and the substring condition then drops the few rows whose bigrams
only happen to be there apart. SQLite checks the substring condition alone (LIKE).
"""
from __future__ import annotations

import sqlalchemy as sa

from hotline.extensions import db
from hotline.tickets.models import Ticket

FIELDS = (Ticket.title, Ticket.content, Ticket.address)
#: relevance of a keyword found in each field: the title counts most
WEIGHTS = (4, 2, 1)


def _contains(column, word: str):
    """`column` contains `word`, case-insensitively; a word without letters that have a
    case (Chinese, digits) by a plain LIKE, the same answer without lowering both sides
    (PostgreSQL's ILIKE lowers the whole text of every row it tests)."""
    if word.lower() == word == word.upper():
        return column.contains(word, autoescape=True)
    return column.icontains(word, autoescape=True)


def substring_condition(word: str):
    return sa.or_(*[_contains(c, word) for c in FIELDS])


def text_condition(word: str, *, indexed: bool = True):
    """Tickets whose title, content or address contains `word` (no whitespace in it).
    `indexed=False`: the substring condition alone, the same rows (the grams only narrow
    what the GIN index hands over), for a walk down the id index that stops early."""
    if indexed and db.session.get_bind().dialect.name == "postgresql":
        return sa.and_(Ticket.search_grams.op("@@")(sa.func.hotline_search_query(word)), substring_condition(word))
    return substring_condition(word)


def text_relevance(words: list[str]):
    """A score per ticket: for each keyword, 4 when the title has it, 2 the content, 1 the address."""
    return sum(sa.case((_contains(c, w), weight), else_=0) for w in words for c, weight in zip(FIELDS, WEIGHTS))
