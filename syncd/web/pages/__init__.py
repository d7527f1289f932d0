"""One module per group of pages, each with its ``router`` (see docs/web.md)."""
