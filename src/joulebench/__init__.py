"""joulebench: accuracy per joule for reduced pre-trained encoders."""

__version__ = "0.1.0"
