"""Forms of supervision.disputes's actions (attached with attach_form)."""
