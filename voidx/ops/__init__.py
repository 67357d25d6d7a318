"""Operations: logging, status and health."""
