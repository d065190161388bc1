"""The application on top of the stages: the `cadl` command, the orchestration of one batch
through ingest → ocr → metadata → preservation → publication, reports, the server and alerts."""

from kernel import __version__

__all__ = ["__version__"]
