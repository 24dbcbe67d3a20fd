"""The sales process itself, as plain Python: the process file model and its validation,
stage-gate evaluation, qualification scoring. Nothing here imports Django; models load and
persist, this package decides."""
