"""kbtool: a docs-as-code knowledge base for software support teams."""

__version__ = "0.1.0"
