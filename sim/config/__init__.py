"""config layer of tenglong."""
