"""Forms of review.signoff's actions (attached with attach_form)."""
