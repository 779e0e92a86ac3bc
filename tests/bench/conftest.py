"""Benchmarks time whole processes; they are not tests, so pytest collects nothing here."""

collect_ignore_glob = ["*.py"]
