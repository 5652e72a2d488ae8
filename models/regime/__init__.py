"""regime package."""
