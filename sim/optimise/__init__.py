"""optimise layer of tenglong: the generic choice problem and its solvers.

* ``problem``: :class:`ChoiceProblem` (units × options × metrics, constraint
  families, objective) and :class:`Solution`;
* ``solve``: the one entry point, ``solve(problem, method="auto" | "mip" |
  "pyomo" | "decomposition")``, which also verifies and prices the plan;
* ``highs_backend``: the MIP built from numpy/scipy.sparse straight into highspy;
* ``pyomo_backend``: the same MIP as a readable Pyomo model (reference);
* ``decomposition``: Lagrangian pricing with an exact core, for large sets;
  the driver of its parts:

  * ``lagrangian``: the model compiled for pricing, ``L(λ)``, reduced costs;
  * ``price_search``: the prices (the LP relaxation) by sifting;
  * ``capacity_prices``: exact prices of capacity-like rows (parks, acquirers);
  * ``core``: LPs and MIPs over a few units with the rest fixed;
  * ``neighbourhoods``: which units each large-neighbourhood MIP frees;
  * ``exchange``: exact-fill exchanges for knapsack-form (MMKP) problems;
* ``smoothing``: smoothed-dual prices for levels too large for one LP;
* ``repair``: greedy repair and single-move descent of a plan that breaks rows;
* ``deadline``: a hard wall-clock deadline for plain MIPs of large models;
* ``mip_worker``: the decomposition's MIPs in a child process stopped when
  HiGHS overruns;
* ``verify``: the independent numpy recomputation of every constraint;
* ``prices``: LP duals and reduced-cost gaps attached to a plan;
* ``mmkp``, ``brute_force``: published MMKP instances and a brute force, the
  references the tests compare against.
"""
