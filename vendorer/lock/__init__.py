"""The lock: the pylock model, export, why, what moved."""
