# prepsuite workflows. Targets: `corpus`, `shards`, `w2v`, each with the figures of
# `snakemake --report report.html` (pipelines/report.smk). The default target makes the corpus
# and keeps the shards and word vectors up to date once they have been made.
# Run `snakemake -j8 corpus`; override settings with `--config key=value`
# (e.g. `--config dump=zhwiki-latest-pages-articles.xml.bz2 chunks=32`).
import os

from snakemake.utils import min_version

min_version("8.0")


# Beside this Snakefile, so `snakemake --directory DIR` (outputs in DIR) works too.
configfile: os.path.join(workflow.basedir, "pipelines", "config.yaml")


include: "pipelines/common.smk"
include: "pipelines/corpus.smk"
include: "pipelines/word2vec.smk"
include: "pipelines/shards.smk"
include: "pipelines/report.smk"


rule all:
    default_target: True
    input:
        built_targets(CORPUS_TARGETS, SHARDS_TARGETS, W2V_TARGETS),
