"""Dataset loading and preparation: Cohan et al. (2018) arXiv/PubMed jsonl, folders of it, and
the Hugging Face hub versions, all as `datasets.Dataset`s with one text normalization."""
