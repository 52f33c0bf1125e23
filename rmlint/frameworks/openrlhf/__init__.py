"""OpenRLHF launches: its CLI flags across releases, and the models and DeepSpeed configs a launch creates."""
