"""The release pipeline: detect changed charts, version, package, sign, index, publish.

One module per job; :mod:`charthouse.release.pipeline` plans and runs them in order so
that nothing reaches a target until every chart of the release has been built.
"""
