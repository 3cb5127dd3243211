"""Forms of intake.cases's actions (attached with attach_form)."""
