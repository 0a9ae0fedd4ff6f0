"""Pagination: how the next request follows from the last page, one kind per class."""
