"""The Cronofy wire format: time strings and event objects, shared by the API and the daemon.

Neutral ground below both ``syncd.api`` and ``syncd.conferencing``: no database access and
no FastAPI, so either may import it without an import cycle.
"""
