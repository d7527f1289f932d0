"""Calendar provider adapters, found through the ``syncd.providers`` entry points."""
