"""Briefing figures in one house style, Chinese (default) or English.

* :mod:`sim.plots.style`: CJK font registration (Noto Sans CJK SC from
  ``mplfonts``), rcParams, palette, labels, :func:`~sim.plots.style.save_figure`.
* :mod:`sim.plots.briefing`: one function per figure, each returning a
  :class:`matplotlib.figure.Figure` from a result or comparison Dataset;
  :func:`~sim.plots.briefing.scenario_figures` renders the set that
  ``tenglong run`` writes.
* :mod:`sim.plots.classes`: the 亩均 class-after rule.
* :mod:`sim.plots.pareto`: ε-constraint sweeps and the frontier plot.
"""
