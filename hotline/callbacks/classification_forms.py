"""Forms of callbacks.classification's actions (attached with attach_form)."""
