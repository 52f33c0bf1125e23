"""Trainer configs that are not OpenRLHF launches: LLaMA-Factory, TRL, axolotl."""
