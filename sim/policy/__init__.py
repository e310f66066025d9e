"""Policy layer: the plan's targets, limits and capacities as choice-problem constraints."""
