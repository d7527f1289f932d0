"""Sync engine: scheduling, leases, one-profile sync runs.

Series expansion is pure calendar logic and lives in ``syncd.calendar.expansion``.
"""
