"""The collector: frontier, fetching, robots.txt, sitemaps, proxies, browser rendering."""
