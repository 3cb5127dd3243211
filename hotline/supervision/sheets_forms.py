"""Forms of supervision.sheets's actions (attached with attach_form)."""
