"""The stack description: typed settings, their rules, loading and schema. No I/O but reading the file."""
