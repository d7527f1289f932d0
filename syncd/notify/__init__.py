"""Notifications to the caller's application: a persistent outbox, signed webhook delivery."""
