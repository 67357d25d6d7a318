"""Scale-out with Celery workers on Redis (a later issue); the SQLite store stays the single writer."""
