"""rmlint's own release: a leaf every layer may read (--version, the catalog cache key, SARIF, the Hub's User-Agent)."""

__version__ = "0.1.0"
