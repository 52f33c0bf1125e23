"""Checkpoints read without torch and without reading tensor data: what a saved model really holds."""
