"""The rules behind the admin pages, one module per admin area:

- organisation: the unit tree (users are in hotline.auth.services)
- taxonomy: categories, routing rules and the knowledge base
- time_limits: the time-limit policy and the holiday calendar
- settings: single values the admin switches (auto dispatch)

Each operation checks everything first, then changes the session and flushes; it never
commits. A problem raises ValidationFailed with a Chinese message and the form field it
belongs to. The boundary (an admin page, a CLI command, the demo loader) wraps the call
in `unit_of_work()`, which commits once, or rolls back whole when anything is refused, so
the web pages, the API and the CLI can call the same functions.
"""
