"""The optimizer: evidence-backed recommendations, allowlisted actions behind guardrails, an
audit trail and measured effects. See :mod:`.service` for the cycle."""
