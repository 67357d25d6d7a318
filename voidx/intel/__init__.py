"""Analytics with DuckDB over the store: price moves, stock changes, extraction health."""
