"""tenglong: simulation and optimisation of 腾笼换鸟 industrial restructuring.

The package reads as the data flow:

    data (register, synthetic population)
      → evaluation (亩均论英雄 score, class, 高耗低效 screening)
      → options (unit × option × metric effects)
      → optimise (choice problem, Pyomo / direct HiGHS / decomposition, verification)
      → simulate (years, Monte Carlo, sweeps)
      → results (Dataset, manifest, comparison)
      → plots, brief
    cli on top.
"""

__version__ = "0.1.0"
