"""The revisions, oldest first: ``0001`` the schema of trialmirror main b867388."""
