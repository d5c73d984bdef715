"""Helpers shared by more than one test file or tier (importable as ``support.*``).

- :mod:`support.rendering`: the one way tests render charts (memoised) and every
  chart x scenario case.
- :mod:`support.chartrepo`: a throwaway chart repository for release and serve tests,
  and ``charthouse release`` run against it.
- :mod:`support.fresh_clone`: a fresh clone of this repository running its own code.
- :mod:`support.servers`: real servers on 127.0.0.1 (chart repository, OCI registry,
  in-process HTTP handlers).

Fixtures that need a cluster (helm and Kubernetes clients pointed at it, the
deployer, failure diagnostics) stay in ``tests/integration/``: only tests that have
a cluster can use them, and the unit tier then never imports the Kubernetes client.
Likewise the image tests' runc runner (``tests/images/image_runner.py``) and the
image builder's fakes (``tests/unit/images/image_support.py``) serve one directory each.
"""
