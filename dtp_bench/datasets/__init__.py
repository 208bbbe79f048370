"""The benchmark's datasets: definitions, fetching, resizing, seeded face pairs, pair lists.

    definitions  config/datasets/*.yaml read and checked (`load_definitions`)
    settings     the workflow config's `datasets:` block (`DatasetsSettings`)
    plan         one dataset under those settings: pairs, files, dropped pairs (`plan_dataset`)
    sources      upstream URL or mirror for a file, what it must hash to, the fetch messages' fixes
                 (the download itself, with sha256 check, retries and temp file + rename: dtp_core.fetch)
    resizing     the protocol's resize (`ResizeSpec`, `resize_file`) over dtp_core.images
    pairing      the seeded face-pair rule
    pairlist     data/pairs/<dataset>.tsv and its .json summary (`read_pair_list` reads one back)
    jobs         what the workflow's rules call; cli: the same as `python -m dtp_bench.datasets`
    workflow     parse-time helpers for Snakemake (targets, input functions)
"""
