"""Gene co-expression networks the way KINC 3.4 builds them in its traditional (non-GMM) mode."""

__version__ = "0.1.0"
