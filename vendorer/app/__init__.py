"""The application layer: the steps a command runs, wired together."""
