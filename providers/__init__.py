"""Calendar provider adapters. The daemon finds them through the ``syncd.providers`` entry points."""
