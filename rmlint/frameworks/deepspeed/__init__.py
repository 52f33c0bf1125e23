"""DeepSpeed configs: the keys DeepSpeed knows, and the config as DeepSpeed will read it."""
