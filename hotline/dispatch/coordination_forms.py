"""Forms of dispatch.coordination's actions (attached with attach_form)."""
