"""Making models: the training loop and its config, exporting a checkpoint to ship, and fitting
the salience model from the extractive oracle."""
