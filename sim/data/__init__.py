"""data layer of tenglong."""
