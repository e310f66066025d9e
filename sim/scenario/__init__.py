"""scenario layer of tenglong."""
