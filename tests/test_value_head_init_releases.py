"""OpenRLHF's value-head initialisation, read from the release wheels at 0.5.0 and 0.11.2 (the first and
newest wheels the suite uses; the tags from 0.2.0 read the same): train_rm always passes
init_value_head=True (RM603, RM608), and the PPO critic initialises its head only when the critic path
string equals the actor path string (RM604). These rules are therefore not keyed by release."""

import ast

import pytest

import upstream


def init_value_head(version: str, module_path: str) -> list:
    """The source of every `init_value_head=` keyword passed in the module."""
    tree = ast.parse(upstream.source(version, module_path))
    return [ast.unparse(k.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
            for k in node.keywords if k.arg == "init_value_head"]


@pytest.mark.parametrize("version,actor,critic", [
    ("0.5.0", "strategy.args.pretrain", "strategy.args.critic_pretrain"),
    ("0.11.2", "strategy.args.actor.model_name_or_path", "strategy.args.critic.model_name_or_path"),
])
def test_reward_heads_are_always_drawn_anew_and_critic_heads_by_string_equality(version, actor, critic):
    assert init_value_head(version, "openrlhf/cli/train_rm.py") == ["True"]
    assert init_value_head(version, "openrlhf/trainer/ray/ppo_critic.py") == [f"{actor} == {critic}"]
