"""evaluation layer of tenglong."""
