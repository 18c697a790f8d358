"""Named experiments: each returns a dataclass of the numbers a chapter shows (no drawing)."""
