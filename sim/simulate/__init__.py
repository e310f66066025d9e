"""simulate layer of tenglong."""
