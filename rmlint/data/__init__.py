"""rmlint's tables (flag tables, schemas, launcher options), in one folder shipped as the package's data;
each framework's reader names its own files here."""

from pathlib import Path

TABLES = Path(__file__).resolve().parent
