"""The Chinese–Arabic digital library pipeline: shared core (settings, errors, language table) and the `cadl` command."""

__version__ = "0.1.0"
