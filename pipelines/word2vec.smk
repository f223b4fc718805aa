# Word vectors: corpus.txt → gensim word2vec (results/w2v/) → scores on test sets (eval.json).
# `snakemake -j8 w2v` trains, and evaluates when w2v.analogies or w2v.similarity list files.
# Settings: the `w2v:` block of pipelines/config.yaml; override nested keys with e.g.
#   snakemake -j8 w2v --config 'w2v={workers: 1, analogies: [analogy.txt]}'


W2V_ANALOGIES = w2v_test_files(config, "analogies")
W2V_SIMILARITY = w2v_test_files(config, "similarity")
# The stop-word file is an input: editing it trains again.
W2V_STOPWORDS = [config["w2v"]["stopwords"]] if config["w2v"].get("stopwords") else []


rule w2v_train:
    input:
        corpus="results/corpus/corpus.txt",
        stopwords=W2V_STOPWORDS,
    output:
        model="results/w2v/word2vec.model",
        kv="results/w2v/vectors.kv",
        txt="results/w2v/vectors.txt",
        stats="results/w2v/train.json",
    log:
        "results/logs/w2v/train.log",
    benchmark:
        "results/benchmarks/w2v/train.tsv"
    threads: config["w2v"]["workers"]
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.stats),
        sg="--sg" if setting("w2v", "sg", bool) else "--cbow",
        options=" ".join(part for part in
            [f"--{key.replace('_', '-')} {setting('w2v', key, int)}"
             for key in ("vector_size", "window", "min_count", "negative", "epochs", "seed")]
            + ["--drop-punctuation" if config["w2v"].get("drop_punctuation", False) else "",
               opt("--stopwords", config["w2v"].get("stopwords"))]
            if part
        ),
    conda:
        PREPSUITE_ENV
    shell:
        "prep w2v train {input.corpus:q} --out {params.outdir:q} {params.options} {params.sg}"
        " --workers {threads} 2> {log:q}"


rule w2v_eval:
    input:
        kv="results/w2v/vectors.kv",
        analogies=W2V_ANALOGIES,
        similarity=W2V_SIMILARITY,
    output:
        "results/w2v/eval.json",
    log:
        "results/logs/w2v/eval.log",
    benchmark:
        "results/benchmarks/w2v/eval.tsv"
    params:
        files=lambda wildcards, input: " ".join(
            [f"--analogies {shlex.quote(p)}" for p in input.analogies]
            + [f"--similarity {shlex.quote(p)}" for p in input.similarity]
        ),
        restrict=setting("w2v", "restrict_vocab", int),
    conda:
        PREPSUITE_ENV
    shell:
        "prep w2v eval {input.kv:q} {params.files} --restrict-vocab {params.restrict}"
        " --out {output:q} > {log:q} 2>&1"


# (the target `w2v`, with the report's figures, is in report.smk)
