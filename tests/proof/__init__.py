"""The lessons' promises proven under the conditions AWS allows: duplicates, retries."""
