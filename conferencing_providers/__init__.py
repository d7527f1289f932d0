"""Conferencing adapters, found through the ``syncd.conferencing_providers`` entry points."""
