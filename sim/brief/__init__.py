"""brief layer of tenglong."""
