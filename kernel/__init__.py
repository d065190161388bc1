"""The kernel every package stands on: settings, the error tree, the language table, the XML
namespaces, and the small validated types and checks every stage needs at its boundary (item
and batch ids that cannot be paths, the one `inside()` path helper, the script of a string,
terminal-safe text). It imports nothing of the project's own, so any stage and the application
can use it."""

__version__ = "0.1.0"
