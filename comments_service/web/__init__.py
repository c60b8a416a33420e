"""The web layer: the app factory, JSON API and its fast path, forms, staff pages, serve."""
