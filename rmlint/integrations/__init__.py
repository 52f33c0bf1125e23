"""Where rmlint.guard goes in a training script: a transformers TrainerCallback (transformers.py)
and a function for accelerate loops (accelerate.py). Each imports its framework when imported."""
