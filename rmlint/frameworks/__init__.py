"""Frameworks whose launches rmlint reads from shell commands into facts (verl, DeepSpeed-Chat)."""


def launches(commands: list, path: str, position) -> tuple:
    """(subjects, findings, indexes of the commands they claimed) over a script's commands; a claimed
    command is no other framework's (DeepSpeed-Chat's main.py flags are not TRL's)."""
    from . import deepspeed_chat, verl
    result, findings, claimed = [], [], set()
    for framework in (verl, deepspeed_chat):
        more, trouble, taken = framework.launches(commands, path, position)
        result += more
        findings += trouble
        claimed |= taken
    return result, findings, claimed
