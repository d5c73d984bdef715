"""Test clusters for the integration suite: embedded (local processes), kind, or existing.

Entry point: :func:`charthouse.cluster.provider.get`; CLI: ``charthouse cluster``.
"""
