"""Forms of dispatch.split's actions (attached with attach_form)."""
