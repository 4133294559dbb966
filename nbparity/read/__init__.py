"""Readers: input files parsed and validated into frozen objects (bad input is a UsageError, exit 2)."""
