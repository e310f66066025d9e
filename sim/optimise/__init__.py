"""optimise layer of tenglong."""
