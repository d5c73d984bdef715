"""charthouse: render, validate, test, release and serve the charthouse Helm charts."""

__version__ = "0.1.0"
