"""plots layer of tenglong."""
