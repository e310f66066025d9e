"""One-page A4 policy briefs: :func:`sim.brief.pdf.make_brief` (``tenglong brief``).

:mod:`sim.brief.text` holds the number formats and generated sentences;
:mod:`sim.brief.pdf` lays out the pages with fpdf2 and the bundled CJK font.
"""
