"""Reports rendered from reports/templates/ with jinja2."""
