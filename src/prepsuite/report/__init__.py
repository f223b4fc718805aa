"""What did the preparation give? Corpus profiles and the plots of the workflow's report.

:mod:`.profile` reads a corpus once (document lengths, token counts); :mod:`.plots` draws the
figures that ``snakemake --report`` shows, from the stats files the workflow already writes
and from a profile. ``prep inspect`` (:mod:`prepsuite.inspection`) prints the same numbers.
"""
