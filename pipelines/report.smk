# The report: the targets `corpus`, `shards` and `w2v`, each its outputs plus the figures of
# `snakemake --report report.html` (drawn by `prep plot` from the files the target wrote;
# captions in pipelines/report/*.rst). Set `plots: false` to make the outputs alone.
# Figures go to results/report/<target>/.

from prepsuite.report.plots import CORPUS_PLOTS, SHARDS_PLOTS

_PLOTS = config.get("plots", True)
if isinstance(_PLOTS, str) and _PLOTS.lower() not in _BOOLEANS:
    raise ValueError(f"config plots must be true or false, got {_PLOTS!r}")
PLOTS = _BOOLEANS[_PLOTS.lower()] if isinstance(_PLOTS, str) else bool(_PLOTS)


report: "report/workflow.rst"


def figure(target: str, name: str, category: str):
    """results/report/<target>/<name>.png, marked for the report with its caption."""
    return report(f"results/report/{target}/{name}.png", caption=f"report/{name}.rst", category=category)


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
    shell:
        "{PREP} inspect {input:q} --json {output:q} --quiet 2> {log:q}"


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
        out="results/report/corpus",
    shell:
        "{PREP} plot corpus --stats {input.stats:q} --profile {input.profile:q} -o {params.out:q} 2> {log:q}"


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
        out="results/report/shards",
    shell:
        "{PREP} plot shards {input.shards:q} -o {params.out:q} 2> {log:q}"


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
        out="results/report/w2v",
        scores=lambda wildcards, input: f"--eval {shlex.quote(input.scores[0])}" if input.scores else "",
    shell:
        "{PREP} plot w2v --train {input.train:q} {params.scores} -o {params.out:q} 2> {log:q}"


def _shown(path: str, category: str, caption: str):
    return report(path, category=category, caption=f"report/{caption}.rst")


# The targets. Their inputs marked with report() are shown in the report as they are.
CORPUS_TARGETS = [
    "results/corpus/corpus.txt",
    _shown("results/corpus/stats.json", "Corpus", "corpus_stats"),
    _shown("results/corpus/rejects.tsv", "Corpus", "corpus_rejects"),
] + (rules.report_corpus.output if PLOTS else [])
SHARDS_TARGETS = [
    "results/shards/out",
    _shown("results/shards/verify.txt", "Shards", "shards_verify"),
] + (rules.report_shards.output if PLOTS else [])
W2V_TARGETS = list(rules.w2v_train.output[:3]) + [_shown("results/w2v/train.json", "Word vectors", "w2v_train")] + (
    [_shown("results/w2v/eval.json", "Word vectors", "w2v_eval")] if W2V_EVAL else []
) + (rules.report_w2v.output if PLOTS else [])


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


def built_targets(wildcards=None) -> list:
    """The default target: the corpus, and the shards and word vectors once they have been made
    (`snakemake -j8 shards` once), so that `snakemake --report report.html` shows all three and
    a plain `snakemake` keeps them up to date."""
    return (CORPUS_TARGETS
            + (SHARDS_TARGETS if os.path.exists("results/shards/verify.txt") else [])
            + (W2V_TARGETS if os.path.exists("results/w2v/train.json") else []))
