"""Thin routers, one per audience; the site renders the public read model as HTML."""
