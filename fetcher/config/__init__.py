"""Configuration: the TOML contract, parsed once into typed, frozen values."""
