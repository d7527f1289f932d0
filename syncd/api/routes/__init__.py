"""One router per resource; ``syncd.api.app`` includes them all."""
