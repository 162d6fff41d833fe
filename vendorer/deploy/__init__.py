"""The server side: Kudu, upload, web.config, ARM, git hooks."""
