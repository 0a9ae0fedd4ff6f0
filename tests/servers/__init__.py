"""Real API servers for the tests, built with the libraries real APIs use: one module per library."""
