"""The Cronofy-compatible HTTP API: ``create_app`` builds it, ``ApiServer`` serves it."""
