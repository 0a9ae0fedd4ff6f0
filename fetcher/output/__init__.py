"""Output files: the formats, the writers and the spool that feeds them."""
