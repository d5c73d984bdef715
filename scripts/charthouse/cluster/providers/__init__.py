"""Cluster providers, one module (or package) each; :mod:`.base` is the interface they share.

Nothing here imports an implementation: :mod:`charthouse.cluster.provider`, one
level up, detects which one fits and constructs it.
"""
