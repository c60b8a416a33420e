"""Site publishing: baking approved comments into built pages, re-baking, the MkDocs plugin."""
