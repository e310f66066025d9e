"""results layer of tenglong."""
