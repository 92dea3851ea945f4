"""The names of the alert rules (computed in SQL: transforms/models/6*_*.sql), as the digest, the feedback
commands and the configuration refer to them."""

from __future__ import annotations

# Rules about the vendor or our side as a whole: one alert per vendor and rule, dismissable as a whole.
VENDOR_RULES = ("latency_drift", "silence", "misunderstanding_spike", "chasing", "company_latency_drift")
# Rules about overdue items: one alert per vendor and side, each item announced and dismissed on its own.
ITEM_RULES = ("vendor_overdue", "company_overdue")
