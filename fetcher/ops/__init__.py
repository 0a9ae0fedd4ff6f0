"""Operations in the container: start-up, health and status."""
