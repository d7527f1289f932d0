"""Managed-event writes and conferencing assignment, run by the daemon (``worker``)."""
