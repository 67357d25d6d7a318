-- The charset the server declared in Content-Type: it outranks the page's <meta charset>.
ALTER TABLE fetches ADD COLUMN charset TEXT;
