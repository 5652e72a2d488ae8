"""PyTorch networks of the neural predictors (window of feature vectors -> 3 logits) and the
device choice they run on. Built by name in :mod:`models.predictors.networks`."""
