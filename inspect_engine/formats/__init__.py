"""The import formats of DATA-FORMATS.md: column specifications and a streaming reader.

Pure: no database. The import workflow adds the checks that need one (references)."""
