"""Pure calendar logic shared by the store and the sync engine: no clock, no I/O.

``syncd.calendar.expansion`` turns stored provider items (single events, recurring
masters and their overrides) into concrete busy spans. It imports neither
``syncd.store`` nor ``syncd.sync``; both import it.
"""
