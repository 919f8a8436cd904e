"""homecare: sensor gateway and alert backend for older people living at home."""

__version__ = "0.1.0"
__all__ = ["__version__"]
