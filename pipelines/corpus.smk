# The text corpus: dump → extract → (per chunk) clean → convert → segment → gather.
# With fuse_stages (default) one job per chunk runs clean → convert → segment as one stream
# (`prep process`); a .bz2 dump's chunk job starts from its own part of the file, extraction
# included: its bz2 streams (multistream, after reading the index once) or its bz2 blocks
# (single-stream), as laid out by plan_chunks. Without it each stage is a job of its own. Same
# bytes either way. The plan and the gather run inside Snakemake's own process (`run:`): on a
# small dump an interpreter start would take longer than either.
# Logs in results/logs/<rule>/, benchmarks in results/benchmarks/<rule>/.

FUSE = config.get("fuse_stages", True)
# Chunks fused from extraction to segmentation are contiguous runs of the dump: written as plain
# text, the gather concatenates them (no JSON written or read). Other chunks are JSON lines
# merged on page id.
# corpus.format: jsonl also writes results/corpus/corpus.jsonl (id, title, text), for which the
# chunks must carry id and title: JSON lines then, whatever the dump.
CORPUS_FORMAT = config.get("corpus", {}).get("format", "txt")
SEGMENTED = "txt" if SPLIT and FUSE and CORPUS_FORMAT == "txt" else "jsonl"
CORPUS_JSONL = {"jsonl": "results/corpus/corpus.jsonl"} if CORPUS_FORMAT == "jsonl" else {}
# Section headings: their text kept as a line of its own (no trailing '.'), or dropped.
HEADINGS = config["extract"].get("headings", "keep")


if SPLIT and INDEX and is_plan(INDEX):

    from prepsuite.text.multistream import plan_chunks

    plan_chunks(DUMP, INDEX, CHUNKS)  # `index=` names a plan made with `prep plan`: refuse a misfit now
    PLAN = INDEX

elif SPLIT:

    # streams (multistream, from its index) or blocks (single-stream): one plan file per kind
    # and chunk count, so going back to an earlier setting finds its plan and chunks
    PLAN_NAME = f"{'streams' if INDEX else 'blocks'}-of-{CHUNKS}"

    # Runs inside Snakemake's own process (no interpreter start), on the submitting machine.
    localrules: plan_chunks

    rule plan_chunks:
        """Where each chunk's data lies, found once, here, rather than in every chunk job: a
        multistream index lists every page of the dump (seconds per job on a real dump to
        read); a single-stream dump is cut where its bz2 blocks start. Chunk jobs read this
        plan instead."""
        input:
            unpack(lambda wildcards: {"dump": DUMP} | ({"index": INDEX} if INDEX else {})),
        output:
            f"results/plan/{PLAN_NAME}.json",
        log:
            f"results/logs/plan_chunks/{PLAN_NAME}.log",
        benchmark:
            f"results/benchmarks/plan_chunks/{PLAN_NAME}.tsv"
        params:
            chunks=CHUNKS,
        run:
            plan_job(input, output, log, params)

    PLAN = rules.plan_chunks.output[0]


if SPLIT and FUSE:

    rule process_streams:
        input:
            dump=DUMP,
            plan=PLAN,
            settings=SETTING_FILES,
        output:
            chunk=f"results/segment/chunk-{{scatteritem}}.{SEGMENTED}",
            stats="results/stats/process/{scatteritem}.json",
            rejects="results/rejects/clean/{scatteritem}.tsv",
        log:
            "results/logs/process_streams/{scatteritem}.log",
        benchmark:
            "results/benchmarks/process_streams/{scatteritem}.tsv"
        params:
            chunks=CHUNKS,
            number=lambda wildcards: wildcards.scatteritem.split("-of-")[0],
            engine=config["extract"]["engine"],
            headings=HEADINGS,
            options=text_stage_options(config),
        conda:
            PREPSUITE_ENV
        shell:
            "prep process {input.dump:q} {output.chunk:q} --index {input.plan:q} --chunks {params.chunks}"
            " --chunk {params.number} --extract-engine {params.engine} --headings {params.headings}"
            " {params.options}"
            " --rejects {output.rejects:q} --stats {output.stats:q} 2> {log:q}"

    EXTRACT_STATS = []

elif SPLIT:

    rule extract_streams:
        input:
            dump=DUMP,
            plan=PLAN,
        output:
            chunk="results/extract/chunk-{scatteritem}.jsonl",
            stats="results/stats/extract/{scatteritem}.json",
        log:
            "results/logs/extract/{scatteritem}.log",
        benchmark:
            "results/benchmarks/extract/{scatteritem}.tsv"
        params:
            chunks=CHUNKS,
            number=lambda wildcards: wildcards.scatteritem.split("-of-")[0],
            engine=config["extract"]["engine"],
            headings=HEADINGS,
        conda:
            PREPSUITE_ENV
        shell:
            "prep extract {input.dump:q} results/extract --index {input.plan:q} --chunks {params.chunks}"
            " --engine {params.engine} --headings {params.headings}"
            " --chunk {params.number} --processes 1 --name-template 'chunk-{{number}}-of-{{total}}.jsonl'"
            " --stats {output.stats:q} 2> {log:q}"

    EXTRACT_STATS = gather.split("results/stats/extract/{scatteritem}.json")

else:

    rule extract:
        input:
            DUMP,
        output:
            chunks=scatter.split("results/extract/chunk-{scatteritem}.jsonl"),
            stats="results/stats/extract.json",
        log:
            "results/logs/extract/extract.log",
        benchmark:
            "results/benchmarks/extract/extract.tsv"
        threads: 8
        params:
            chunks=CHUNKS,
            engine=config["extract"]["engine"],
            headings=HEADINGS,
        conda:
            PREPSUITE_ENV
        shell:
            "prep extract {input:q} results/extract --chunks {params.chunks} --engine {params.engine}"
            " --headings {params.headings}"
            " --processes {threads} --name-template 'chunk-{{number}}-of-{{total}}.jsonl'"
            " --stats {output.stats:q} 2> {log:q}"

    EXTRACT_STATS = ["results/stats/extract.json"]


if SPLIT and FUSE:

    STAGE_STATS = gather.split("results/stats/process/{scatteritem}.json")

elif FUSE:

    rule process:
        input:
            chunk="results/extract/chunk-{scatteritem}.jsonl",
            settings=SETTING_FILES,
        output:
            chunk="results/segment/chunk-{scatteritem}.jsonl",
            stats="results/stats/process/{scatteritem}.json",
            rejects="results/rejects/clean/{scatteritem}.tsv",
        log:
            "results/logs/process/{scatteritem}.log",
        benchmark:
            "results/benchmarks/process/{scatteritem}.tsv"
        params:
            options=text_stage_options(config),
        conda:
            PREPSUITE_ENV
        shell:
            "prep process {input.chunk:q} {output.chunk:q} {params.options} --rejects {output.rejects:q}"
            " --stats {output.stats:q} 2> {log:q}"

    STAGE_STATS = gather.split("results/stats/process/{scatteritem}.json")

else:

    rule clean:
        input:
            chunk="results/extract/chunk-{scatteritem}.jsonl",
            settings=SETTING_FILES,
        output:
            chunk="results/clean/chunk-{scatteritem}.jsonl",
            stats="results/stats/clean/{scatteritem}.json",
            rejects="results/rejects/clean/{scatteritem}.tsv",
        log:
            "results/logs/clean/{scatteritem}.log",
        benchmark:
            "results/benchmarks/clean/{scatteritem}.tsv"
        params:
            rules=opt("--rules", config["clean"].get("rules_file")),
        conda:
            PREPSUITE_ENV
        shell:
            "prep clean {input.chunk:q} {output.chunk:q} {params.rules} --rejects {output.rejects:q}"
            " --stats {output.stats:q} 2> {log:q}"


    rule convert:
        input:
            "results/clean/chunk-{scatteritem}.jsonl",
        output:
            chunk="results/convert/chunk-{scatteritem}.jsonl",
            stats="results/stats/convert/{scatteritem}.json",
        log:
            "results/logs/convert/{scatteritem}.log",
        benchmark:
            "results/benchmarks/convert/{scatteritem}.tsv"
        params:
            config=config["convert"]["config"],
            engine=config["convert"]["engine"],
        conda:
            PREPSUITE_ENV
        shell:
            "prep convert {input:q} {output.chunk:q} --config {params.config} --engine {params.engine}"
            " --stats {output.stats:q} 2> {log:q}"


    rule segment:
        input:
            chunk="results/convert/chunk-{scatteritem}.jsonl",
            settings=SETTING_FILES,
        output:
            chunk="results/segment/chunk-{scatteritem}.jsonl",
            stats="results/stats/segment/{scatteritem}.json",
        log:
            "results/logs/segment/{scatteritem}.log",
        benchmark:
            "results/benchmarks/segment/{scatteritem}.tsv"
        params:
            hmm="--hmm" if config["segment"]["hmm"] else "--no-hmm",
            user_dict=opt("--user-dict", config["segment"].get("user_dict")),
            engine=config["segment"]["engine"],
            phrases="--keep-phrases" if config["segment"].get("keep_phrases", True) else "--split-phrases",
        conda:
            PREPSUITE_ENV
        shell:
            "prep segment {input.chunk:q} {output.chunk:q} --engine {params.engine} {params.hmm} {params.phrases} {params.user_dict}"
            " --stats {output.stats:q} 2> {log:q}"

    STAGE_STATS = (
        gather.split("results/stats/clean/{scatteritem}.json")
        + gather.split("results/stats/convert/{scatteritem}.json")
        + gather.split("results/stats/segment/{scatteritem}.json")
    )


# The gather runs inside Snakemake's own process (no interpreter start; on a cluster, Snakemake
# sends it to a node like any job).
# (the target `corpus`, with the report's figures, is in report.smk)
rule corpus_gather:
    input:
        chunks=gather.split(f"results/segment/chunk-{{scatteritem}}.{SEGMENTED}"),
        stats=EXTRACT_STATS + STAGE_STATS,
        rejects=gather.split("results/rejects/clean/{scatteritem}.tsv"),
    output:
        corpus="results/corpus/corpus.txt",
        stats="results/corpus/stats.json",
        # this run's rejects in one file (results/rejects/clean/ also keeps other chunk counts')
        rejects="results/corpus/rejects.tsv",
        **CORPUS_JSONL,
    log:
        "results/logs/corpus/corpus.log",
    benchmark:
        "results/benchmarks/corpus/corpus.tsv"
    params:
        settings={k: config[k] for k in ("fuse_stages", "extract", "clean", "convert", "segment")}
        | {"chunks": CHUNKS, "dump": DUMP, "index": str(INDEX or ""),
           "split_single_stream": config.get("split_single_stream", True)},
    run:
        gather_job(input, output, log, params)
