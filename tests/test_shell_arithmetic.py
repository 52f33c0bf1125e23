"""`$(( ))` as bash evaluates it (rmlint/sources/shellarith.py, RM014), checked against bash itself: for each
expression (hand-written ones for the forms, plus a few hundred generated), bash's value or error must be
rmlint's, or rmlint gives up (no finding). rmlint never reports an error bash does not make, and finds
each "value too great for base" and "division by 0" bash makes where it evaluates."""

import json
import random
import shutil
import subprocess

import pytest

from conftest import cli
from rmlint.sources.shellarith import BashArithmeticError, GiveUp, check, evaluate

BASH = shutil.which("bash")
VARIABLES = {"n": "8", "z": "0", "neg": "-3", "bad": "58nproc_per_gpu=58", "oct": "08", "expr": "2*3+1",
             "name": "n", "hex": "0x1f", "empty": "", "based": "2#101"}
HAND = ["1+2*3", "7/2", "-7/2", "-7%3", "7%-3", "2**10", "-2**2", "2**63", "1<<62", "-8>>1", "5&3", "5|3", "5^3",
        "~5", "!0", "!7", "3<4", "3>=4", "1==1", "1!=1", "0 || 0", "2 && 3", "1 ? 2 : 3", "0 ? 1/0 : 4", "1, 2",
        "(1+2)*3", "010", "0x1F", "0X10", "2#101", "16#ff", "36#z", "64#_", "64#@", "08", "09+1", "1a", "58x_y",
        "4/z", "4%z", "z && 1/0", "n || 1/0", "1/(n-8)", "bad", "bad*2", "oct", "oct+1", "expr*2", "name*2",
        "hex+1", "empty+1", "based", "n / z", "neg*neg", "9223372036854775807+1", "-9223372036854775807-1",
        "1 ? 08 : 2", "0 && 08", "0x", "0xg", "1/0"]


def bash_results(expressions: list) -> list:
    """(value or None, error kind or None) per expression, from one bash process."""
    lines = [f"{name}='{value}'" for name, value in VARIABLES.items()]
    for k, expression in enumerate(expressions):
        lines.append(f"( echo \"V{k} $(( {expression} ))\" ) 2>&1 | sed 's/^/R{k} /'")
    done = subprocess.run([BASH, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=60)
    out = {}
    for line in done.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        out.setdefault(int(tag[1:]), []).append(rest)
    results = []
    for k in range(len(expressions)):
        text = " ".join(out.get(k, []))
        if text.startswith(f"V{k} "):
            results.append((int(text.split()[1]), None))
        elif "value too great for base" in text:
            results.append((None, "bad-number"))
        elif "division by 0" in text:
            results.append((None, "division-by-zero"))
        else:
            results.append((None, "other"))
    return results


def generated(count: int) -> list:
    rng = random.Random(11)
    atoms = ["0", "1", "2", "7", "08", "010", "0x1f", "2#11", "n", "z", "neg", "bad", "oct", "expr", "name", "empty"]
    ops = ["+", "-", "*", "/", "%", "<", "==", "&&", "||", "&", "|", "^", "<<"]

    def build(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(atoms)
        form = rng.random()
        if form < 0.1:
            return f"({build(depth - 1)} ? {build(depth - 1)} : {build(depth - 1)})"
        if form < 0.2:
            return f"-({build(depth - 1)})"
        return f"({build(depth - 1)} {rng.choice(ops)} {build(depth - 1)})"
    return [build(3) for _ in range(count)]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_rmlint_evaluates_as_bash_does():
    expressions = HAND + generated(400)
    lookup = VARIABLES.get
    agreed = given_up = 0
    for expression, (value, error) in zip(expressions, bash_results(expressions)):
        try:
            mine = evaluate(expression, lookup)
        except GiveUp:
            given_up += 1
            continue
        except BashArithmeticError as err:
            assert err.kind == error, f"$(( {expression} )): rmlint says {err.kind}, bash {error or value}"
            agreed += 1
            continue
        assert error is None and mine == value, f"$(( {expression} )): rmlint {mine}, bash {error or value}"
        agreed += 1
    assert agreed > 0.9 * len(expressions), (agreed, given_up)    # giving up is rare, not the way to pass


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_every_bash_failure_of_the_two_kinds_is_found_where_rmlint_knows_the_values():
    """(Where rmlint gives up first, e.g. on a shift by a negative count, it is silent; that stays rare.)"""
    expressions = HAND + generated(400)
    failing = found = 0
    for expression, (_, error) in zip(expressions, bash_results(expressions)):
        if error not in ("bad-number", "division-by-zero"):
            continue
        failing += 1
        if check(expression, VARIABLES.get) is not None:
            found += 1
            continue
        with pytest.raises(GiveUp):
            evaluate(expression, VARIABLES.get)
    assert failing > 100 and found > 0.9 * failing, (failing, found)


def test_unknown_values_and_assignments_give_no_finding():
    assert check("GPUS * 2", {}.get) is None                    # GPUS from the environment
    assert check("$1 / 2", {}.get) is None
    assert check("x = 1/0", {"x": "1"}.get) is None             # an assignment inside: not modelled
    assert check("a[1] / 0", {"a": "1"}.get) is None


def test_the_verl_lora_tuning_script_gets_the_finding_at_its_line(tmp_path, monkeypatch):
    """verl's examples/tuning/14b LoRA script (fixture, MANIFEST.tsv) sets nproc_per_gpu=58nproc_per_gpu=58."""
    from pathlib import Path
    script = (Path(__file__).resolve().parent / "fixtures" / "upstream" / "verl" / "tuning" / "14b"
              / "qwen2-14b_grpo-lora_2_h100_fsdp_vllm.sh")
    result = cli("check", "--format", "json", str(script))
    found = [(f["rule"], f["line"], f["column"], f["message"]) for f in json.loads(result.output)["findings"]
             if f["rule"] == "RM014"]
    assert found == [("RM014", 13, 13, "`$(( nproc_per_gpu * nnodes * ngpu_per_node ))` fails in bash: nproc_per_gpu "
                      "is `58nproc_per_gpu=58`, and `58nproc_per_gpu` is no number (bash: \"value too great for base\"); "
                      "bash abandons the command on this line, so a variable it assigns stays unset and a program it "
                      "starts does not run")]
    assert result.exit_code == 1


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_abandons_the_command_and_the_script_goes_on(tmp_path):
    """What the message says, shown with bash: the assignment leaves its variable unset, the command with the
    expansion does not run, the next line does."""
    script = tmp_path / "x.sh"
    script.write_text("bad=58x=58\ntotal=$(( bad * 2 ))\necho \"total=[$total]\"\necho run $(( 1 / 0 ))\necho next\n")
    done = subprocess.run([BASH, str(script)], capture_output=True, text=True, timeout=20)
    assert done.stdout == "total=[]\nnext\n"
    assert "value too great for base" in done.stderr and "division by 0" in done.stderr


@pytest.mark.parametrize("name,text", [
    ("deep parentheses", "x=$(( " + "(" * 5000 + "1" + ")" * 5000 + " ))\n"),
    ("many minus signs", "x=$(( " + "- " * 5000 + "1 ))\n"),
    ("values naming values", "v0=1\n" + "".join(f"v{i}='" + "+".join([f"v{i - 1}"] * 10) + "'\n" for i in range(1, 12))
     + "x=$(( v11 ))\n" * 50),
    ("many expansions", "n=1\n" + "x=$(( n * 2 ))\n" * 20000),
])
def test_hostile_arithmetic_is_read_in_bounded_time(name, text):
    """No traceback and no hang: rmlint gives up where bash would recurse 10**11 times or nest 5000 deep."""
    import time
    from rmlint.sources import shell
    started = time.perf_counter()
    script = shell.parse(text)
    assert time.perf_counter() - started < 5.0, name
    assert script.failures == []
