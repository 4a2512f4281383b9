"""Dev-only processes: the embedded stack (`duban dev`), the SMTP sink, port checks; never the production worker."""
