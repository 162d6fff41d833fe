"""Package indexes: pages, metadata, the verified file store, HTTP, the finder."""
