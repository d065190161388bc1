"""The kernel every package stands on: settings, the error tree, the language table and the XML
namespaces. It imports nothing of the project's own, so any stage and the application can use it."""

__version__ = "0.1.0"
