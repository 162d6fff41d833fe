"""vendorer: resolve, build and vendor Python libraries for a fixed target interpreter."""

__version__ = "0.1.0"
__all__ = ["__version__"]
