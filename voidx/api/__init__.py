"""The read-only HTTP API of voidx serve."""
