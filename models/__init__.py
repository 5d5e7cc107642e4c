"""The contract: the normalized record, its vocabularies, and the store's tables.

`models` imports nothing from the other packages of trialmirror.
"""
