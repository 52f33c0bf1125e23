"""From one OpenRLHF invocation (argv and where each word is written) to one Subject per model."""

import os
from dataclasses import dataclass

from ..checkpoint.defaults import reward_defaults
from ..checkpoint.identity import build
from ..checkpoint.subjects import attach
from ..deepspeed.config import normalize
from ...fact_shapes import default
from ...finding import Location
from ...subject import Subject
from . import roles
from .argv import parse
from .combiner import facts as combiner_facts
from ...versions import number as version_number
from .flags import table
from .settings import read


@dataclass
class Invocation:
    entrypoint: str
    args: list                 # [argv.Arg]
    anchor: Location           # the command (or file) the launch is written in
    launcher: str = ""         # deepspeed | torchrun | python | ray | argv | file
    world_size: int = 0        # GPUs of the launcher; 0 when it cannot be told
    world_source: str = ""     # where that count came from ("--num_gpus 8", "CUDA_VISIBLE_DEVICES=0,1")
    form: str | None = None    # module | script | None (a settings file names no program)
    program: str = ""          # the program as written (`openrlhf.cli.train_rm`, `../train_rm.py`)
    world_default: bool = False  # the count is the launcher's own default (torchrun's --nproc_per_node 1)


def _pin(parsed) -> dict:
    """The target OpenRLHF release (settings, installed, pinned) against the releases the flags fit:
    inside them, the launch is read as that release; outside, the flags that release lacks."""
    from ...versions import current
    pinned = current()["openrlhf"]
    found = {"pinned": "", "pinned_source": "", "pin_missing": "", "pin_conflict": False}
    versions = table().versions
    if not pinned.known or pinned.text not in versions:
        return found     # unknown, or a release the flag table does not hold: judged by the flags alone
    index = versions.index(pinned.text)
    found["pinned"], found["pinned_source"] = pinned.text, pinned.source
    if index in parsed.candidates:
        parsed.candidates = [index]
        return found
    missing = [given.written for given in parsed.given.values() if not given.flag.exists(index)]
    found["pin_missing"] = ", ".join(f"`{name}`" for name in missing)     # "": every flag is there
    found["pin_conflict"] = True
    return found


def releases(invocation: Invocation) -> list:
    """The OpenRLHF releases (version strings) that run this launch as written, from its program and flags."""
    if invocation.entrypoint not in table().entrypoints:
        return []
    parsed = parse(invocation.entrypoint, invocation.args, invocation.form, invocation.program, invocation.anchor)
    return [table().versions[i] for i in parsed.candidates]


def subjects(invocation: Invocation) -> list:
    parsed = parse(invocation.entrypoint, invocation.args, invocation.form, invocation.program, invocation.anchor)
    pin = _pin(parsed)
    settings = read(parsed)
    s = settings.values
    candidates = parsed.candidates
    generations = {table().generation(i) for i in (candidates[0], candidates[-1])}
    launch = {
        "entrypoint": invocation.entrypoint,
        "generation": generations.pop() if len(generations) == 1 else 0,
        "releases": table().span(candidates[0], candidates[-1]),
        "oldest_version": version_number(table().versions[candidates[0]]),
        "newest_version": version_number(table().versions[candidates[-1]]),
        "launcher": invocation.launcher,
        "world_size": invocation.world_size,
        "gpus_from": invocation.world_source,
        "gpus_default": invocation.world_default,
        "opaque": parsed.opaque,
        **pin,
        "problems": [{**p.facts, "kind": p.kind, "flag": p.flag, "file": p.at.path, "line": p.at.line,
                      "column": p.at.column} for p in parsed.problems],
    }
    flag_at = {concept: parsed.given[name].at for concept, name in settings.flag.items()
               if name in parsed.given and concept in settings.given}
    args_provenance = {f"args.{concept}": where for concept, where in flag_at.items()}
    args_unknown = {f"args.{concept}" for concept in settings.unknown}
    result = []
    for role in roles.build(invocation.entrypoint, s, settings.unknown, invocation.world_size):
        subject = Subject("openrlhf", {
            "input": {"kind": "openrlhf"},
            "launch": launch,
            "args": dict(s),
            "role": roles.facts(role, s, bool(invocation.world_source)),
            "ds": default("ds"),
            "ckpt": default("ckpt"),
            "trainer": default("trainer"),
            "reward": default("reward"),
        }, invocation.anchor, dict(args_provenance), set(args_unknown))
        _role_facts(subject, role, settings, flag_at, invocation)
        attach(subject, role, s, _base_dirs(invocation), launch["generation"] == 3)
        _reward_facts(subject, role, settings, invocation)
        result.append(subject)
    return result


def _reward_facts(subject: Subject, role, settings, invocation: Invocation):
    """Is the reward model one (`reward` facts): for the PPO reward model and for an --is_rm merge."""
    s, flag = settings.values, settings.flag
    if role.kind == "combiner" and role.value_head:
        needs = {"lora_path", "model_path", "is_rm"}
        subject.facts["reward"].update(combiner_facts(s["lora_path"], s["model_path"], _base_dirs(invocation)))
    elif role.kind == "reward" and invocation.entrypoint != "serve_rm":
        needs = {"reward_pretrain", "pretrain", "ref_pretrain"}
        policies = [(s["pretrain"], flag.get("pretrain", "--pretrain")),
                    (s["ref_pretrain"], flag.get("ref_pretrain", "--ref_pretrain"))]
        readable = "ckpt.head" not in subject.unknown and subject.facts["ckpt"]["available"]
        found = [build(part, flag.get("reward_pretrain", "--reward_pretrain"), policies, _base_dirs(invocation),
                       True, readable) for part in str(s["reward_pretrain"]).split(",") if part]
        subject.facts["reward"] = next((f for f in found if f["same_as_policy"] or f["family_differs"]
                                        or f["chat_word"]), found[0] if found else reward_defaults())
    else:
        return
    if needs & settings.unknown or "role.path" in subject.unknown:
        subject.unknown.add("reward")
    subject.provenance["reward"] = subject.locate("role.path")


def _base_dirs(invocation: Invocation) -> list:
    """Relative model paths: as run from here, or from the script's folder and those above it."""
    if invocation.anchor.path.startswith("<"):
        return [os.getcwd()]
    from ...sources.walk import project_folders     # the script's folder and those above it, up to its repository's root
    return list(dict.fromkeys([os.getcwd()] + [os.path.abspath(f) for f in project_folders(invocation.anchor.path)]))


def _role_facts(subject: Subject, role, settings, flag_at: dict, invocation: Invocation):
    unknown = settings.unknown
    depends = {  # role fact -> the settings it is computed from, the one to blame first
        "role.path": (role.path_concept,), "role.init_value_head": (role.path_concept, "pretrain"),
        "role.same_model_as_actor": (role.path_concept, "pretrain"), "role.lora_rank": ("lora_rank",),
        "role.load_in_4bit": ("load_in_4bit",),
        "role.batch": ("train_batch_size", "micro_train_batch_size", "ring_attn_size", "tensor_parallel_size",
                       "dynamic_batch"),
        "role.gpus": (f"{role.kind}_num_gpus_per_node", f"{role.kind}_num_nodes"),
    }
    for fact, concepts in depends.items():
        if set(concepts) & unknown:
            subject.unknown.add(fact)
        where = next((flag_at[c] for c in concepts if c in flag_at), None)
        if where:
            subject.provenance[fact] = where
    subject.unknown |= {f"role.{name}" for name in role.unknown}
    if role.gpus == 0:
        subject.unknown.add("role.batch.remainder")
    if role.ds is None:
        return
    subject.deepspeed, subject.world_size = role.ds, role.gpus
    facts, ds_unknown, _ = normalize(role.ds, "openrlhf")
    subject.facts["ds"] = facts
    subject.unknown |= ds_unknown
    for key, concept in role.ds_origin.items():
        if concept in unknown:
            subject.unknown.add(f"ds.{key}")
        if concept in flag_at:
            subject.provenance[f"ds.{key}"] = flag_at[concept]
