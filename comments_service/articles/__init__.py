"""The article library: front matter read strictly from docs/, the catalog, citations."""
