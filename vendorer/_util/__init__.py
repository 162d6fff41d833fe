"""Small helpers that know nothing of the domain: atomic files, URLs, TOML."""
