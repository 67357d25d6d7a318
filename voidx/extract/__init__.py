"""The processor: pages to validated product records (structured data, page heuristics, selectors, Claude)."""
