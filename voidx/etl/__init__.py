"""The warehouse load: products and their SCD2 price history."""
