"""The web console: operator pages, the unit portal, the mail viewer and the JSON API."""
