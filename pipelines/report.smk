# The report: the targets `corpus`, `shards` and `w2v`, each its outputs plus the figures of
# `snakemake --report report.html` (drawn by `prep plot` from the files the target wrote;
# captions in pipelines/report/*.rst). Set `plots: false` to make the outputs alone.
# Figures go to results/report/<target>/.

from prepsuite.report.plots import CORPUS_PLOTS, SHARDS_PLOTS
from prepsuite.report.workflow import built_targets, figure, shown

PLOTS = config.get("plots", True)  # a boolean: check_config typed it, the schema checked it

report: "report/workflow.rst"


rule report_corpus_profile:
    """Document lengths and token counts, one pass over the corpus (`prep inspect --json`)."""
    input:
        "results/corpus/corpus.txt",
    output:
        "results/report/corpus/profile.json",
    log:
        "results/logs/report/corpus_profile.log",
    benchmark:
        "results/benchmarks/report/corpus_profile.tsv"
    conda:
        PREPSUITE_ENV
    shell:
        "prep inspect {input:q} --json {output:q} --quiet 2> {log:q}"


rule report_corpus:
    input:
        stats="results/corpus/stats.json",
        profile="results/report/corpus/profile.json",
    output:
        [figure("corpus", name, "Corpus") for name in CORPUS_PLOTS],
    log:
        "results/logs/report/corpus.log",
    benchmark:
        "results/benchmarks/report/corpus.tsv"
    params:
        out=lambda wildcards, output: os.path.dirname(output[0]),
    conda:
        PREPSUITE_ENV
    shell:
        "prep plot corpus --stats {input.stats:q} --profile {input.profile:q} -o {params.out:q} 2> {log:q}"


rule report_shards:
    input:
        shards="results/shards/out",
        verified="results/shards/verify.txt",
    output:
        [figure("shards", name, "Shards") for name in SHARDS_PLOTS],
    log:
        "results/logs/report/shards.log",
    benchmark:
        "results/benchmarks/report/shards.tsv"
    params:
        out=lambda wildcards, output: os.path.dirname(output[0]),
    conda:
        PREPSUITE_ENV
    shell:
        "prep plot shards {input.shards:q} -o {params.out:q} 2> {log:q}"


W2V_EVAL = bool(W2V_ANALOGIES or W2V_SIMILARITY)


rule report_w2v:
    input:
        train="results/w2v/train.json",
        scores=["results/w2v/eval.json"] if W2V_EVAL else [],
    output:
        [figure("w2v", name, "Word vectors") for name in ["training"] + (["scores"] if W2V_EVAL else [])],
    log:
        "results/logs/report/w2v.log",
    benchmark:
        "results/benchmarks/report/w2v.tsv"
    params:
        out=lambda wildcards, output: os.path.dirname(output[0]),
        scores=lambda wildcards, input: f"--eval {shlex.quote(input.scores[0])}" if input.scores else "",
    conda:
        PREPSUITE_ENV
    shell:
        "prep plot w2v --train {input.train:q} {params.scores} -o {params.out:q} 2> {log:q}"


# The targets. Their inputs marked with report() are shown in the report as they are.
CORPUS_TARGETS = [
    "results/corpus/corpus.txt",
    *CORPUS_JSONL.values(),  # corpus.format: jsonl
    shown("results/corpus/stats.json", "Corpus", "corpus_stats"),
    shown("results/corpus/rejects.tsv", "Corpus", "corpus_rejects"),
] + (list(rules.report_corpus.output) if PLOTS else [])
SHARDS_TARGETS = [
    "results/shards/out",
    shown("results/shards/verify.txt", "Shards", "shards_verify"),
] + (list(rules.report_shards.output) if PLOTS else [])
W2V_TARGETS = (
    [rules.w2v_train.output.model, rules.w2v_train.output.kv, rules.w2v_train.output.txt,
     shown("results/w2v/train.json", "Word vectors", "w2v_train")]
    + ([shown("results/w2v/eval.json", "Word vectors", "w2v_eval")] if W2V_EVAL else [])
    + (list(rules.report_w2v.output) if PLOTS else [])
)


localrules: corpus, shards, w2v


rule corpus:
    input:
        CORPUS_TARGETS,


rule shards:
    input:
        SHARDS_TARGETS,


rule w2v:
    input:
        W2V_TARGETS,

