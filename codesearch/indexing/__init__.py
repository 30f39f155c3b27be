"""Indexing: discovery and its rules, each file's analysis (read, redact, parse, fingerprint,
lexical and static vectors), the incremental indexing run, and the state and cache it keeps."""
