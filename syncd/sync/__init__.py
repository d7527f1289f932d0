"""Sync engine: scheduling, leases, one-profile sync runs, series expansion."""
