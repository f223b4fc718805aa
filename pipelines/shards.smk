# Rank shards: images + labels ──pack──▶ base64 parts ──shard──▶ rank shards ──verify──▶ report.
# `snakemake -j8 shards` packs the photos bundled with prepsuite (prepsuite.sample_photos())
# into results/shards/data, shards them into results/shards/out and verifies the result into
# results/shards/verify.txt. Settings: the `shards:` block of pipelines/config.yaml, e.g.
#   snakemake -j8 shards --config 'shards={nranks: 4, seed: 7}'
# Set shards.data_dir to an existing base64 dataset (with its file list) to shard that instead.

SHARDS_PACKED = "results/shards/data"
SHARDS_DATA = setting("shards", "data_dir") or SHARDS_PACKED


rule shards_pack:
    input:
        unpack(lambda wildcards: shards_images(config)),
    output:
        directory(SHARDS_PACKED),
    log:
        "results/logs/shards/pack.log",
    benchmark:
        "results/benchmarks/shards/pack.tsv"
    params:
        part_lines=setting("shards", "part_lines", int),
    conda:
        PREPSUITE_ENV
    shell:
        "prep pack {input.images:q} {input.labels:q} --out {output:q}"
        " --part-lines {params.part_lines} 2> {log:q}"


rule shards_shard:
    input:
        SHARDS_DATA,
    output:
        directory("results/shards/out"),
    log:
        "results/logs/shards/shard.log",
    benchmark:
        "results/benchmarks/shards/shard.tsv"
    params:
        file_list=setting("shards", "file_list") or "file_list.txt",
        nranks=setting("shards", "nranks", int),
        seed=setting("shards", "seed", int),
        check_images="--check-images" if setting("shards", "check_images", bool) else "",
    conda:
        PREPSUITE_ENV
    shell:
        "prep shard --data-dir {input:q} --file-list {params.file_list:q} --nranks {params.nranks}"
        " --seed {params.seed} {params.check_images} --out {output:q} 2> {log:q}"


# (the target `shards`, with the report's figures, is in report.smk)
rule shards_verify:
    input:
        data=SHARDS_DATA,
        shards="results/shards/out",
    output:
        "results/shards/verify.txt",
    log:
        "results/logs/shards/verify.log",
    benchmark:
        "results/benchmarks/shards/verify.tsv"
    conda:
        PREPSUITE_ENV
    shell:
        # written beside, then renamed: an interrupted verify leaves no report that looks finished
        "prep verify {input.shards:q} --data-dir {input.data:q} > {output:q}.tmp 2> {log:q}"
        " && mv {output:q}.tmp {output:q}"
