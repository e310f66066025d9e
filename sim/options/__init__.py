"""options layer of tenglong."""
