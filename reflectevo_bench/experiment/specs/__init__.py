"""Example experiment specs (documented, not run here): `reflectevo-bench experiment specs` lists them."""
