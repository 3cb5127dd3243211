"""Forms of handling.suspension's actions (attached with attach_form)."""
