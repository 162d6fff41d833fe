"""The target: the frozen profile model, the catalog, capture, the server layout."""
