"""voidx: a local-first web and data intelligence toolkit."""

__version__ = "0.1.0"
