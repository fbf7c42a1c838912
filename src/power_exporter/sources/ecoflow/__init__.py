"""EcoFlow power stations through EcoFlow's cloud (developer keys or an app account)."""
