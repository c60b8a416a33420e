"""A static article library's moderated comments: service, MkDocs plugin and CLI."""

__version__ = "0.1.0"
