"""Offline plan: run the program on Pulumi's mock engine with a stack's config, no cloud needed."""
