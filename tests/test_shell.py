"""The shell reader: words, their places, variables, here-documents, and what stays unknown."""

import pytest

from rmlint.sources import shell
from rmlint.sources.document import _LineIndex


def words(text):
    script = shell.parse(text)
    index = _LineIndex(text)
    return [[(w.text, *index.position(w.offset), w.known) for w in c.words] for c in script.commands], script.problems


def test_continuations_comments_and_quotes():
    commands, problems = words('deepspeed --module openrlhf.cli.train_rm \\\n  --pretrain "my model" \\\n  --x \'a b\'  # note\n')
    assert problems == []
    assert commands == [[("deepspeed", 1, 1, True), ("--module", 1, 11, True), ("openrlhf.cli.train_rm", 1, 20, True),
                         ("--pretrain", 2, 3, True), ("my model", 2, 14, True), ("--x", 3, 3, True), ("a b", 3, 7, True)]]


def test_heredoc_variable_is_split_with_positions_inside_the_heredoc():
    text = ("read -r -d '' cmd <<EOF\nopenrlhf.cli.train_rm \\\n   --zero_stage 3 \\\n   --bf16\nEOF\n"
            "deepspeed --module $cmd\n")
    commands, problems = words(text)
    assert problems == []
    assert commands == [[("deepspeed", 6, 1, True), ("--module", 6, 11, True), ("openrlhf.cli.train_rm", 2, 1, True),
                         ("--zero_stage", 3, 4, True), ("3", 3, 17, True), ("--bf16", 4, 4, True)]]


def test_quoted_heredoc_delimiter_keeps_dollar_signs():
    commands, _ = words("X=1\nread -r -d '' cmd <<'EOF'\n--a $X\nEOF\nrun $cmd\n")
    assert commands == [[("run", 5, 1, True), ("--a", 3, 1, True), ("$X", 3, 5, True)]]


def test_assignments_and_expansions():
    commands, _ = words('M=org/model\nN="--lora_rank 8"\nrun --pretrain $M ${M} "$N" $N ${U:-dflt} ${M:-x}\n')
    assert [w[0] for w in commands[0]] == ["run", "--pretrain", "org/model", "org/model", "--lora_rank 8",
                                           "--lora_rank", "8", "dflt", "org/model"]
    # $N's words point at where N was written
    assert commands[0][5][1:3] == (2, 4)


def test_unknowable_values_stay_unknown():
    script = shell.parse('run --pretrain $1 --save $(date) --x `pwd` $EXTRA --y "$HOME/x"\n')
    by_text = [(w.text, w.known, w.opaque) for w in script.commands[0].words]
    assert by_text == [("run", True, False), ("--pretrain", True, False), ("", False, True), ("--save", True, False),
                       ("", False, True), ("--x", True, False), ("", False, True), ("", False, True),
                       ("--y", True, False), ("/x", False, False)]


def test_separators_redirections_and_control_flow():
    commands, _ = words('if [[ $1 != "slurm" ]]; then\n  CUDA_VISIBLE_DEVICES=0 deepspeed a.py 2>&1 | tee log; fi\n')
    assert [[w[0] for w in c] for c in commands] == [["deepspeed", "a.py"], ["tee", "log"]]


def _findings(text: str) -> list:
    from rmlint import inputs
    from rmlint.policy import Policy
    _, found = inputs.subjects_of_text("x.sh", text)
    return [(f.rule, f.line, f.column, f.message) for f in Policy().complete(found)]


def test_unterminated_heredoc_and_quotes_are_problems():
    assert shell.parse("cat <<EOF\nno end\n").problems == [("heredoc-not-terminated", {"delimiter": "EOF"}, 4)]
    assert shell.parse("run 'open\n").problems == [("unterminated-quote", {"quote": "single"}, 4)]
    assert shell.parse('run "open\n').problems == [("unterminated-quote", {"quote": "double"}, 4)]
    # as the user reads them (the unreadable-input rule's YAML words the kinds)
    assert _findings("cat <<EOF\nno end\n") == [
        ("RM001", 1, 5, "here-document at this line is not terminated (wanted `EOF`)")]
    assert _findings("run 'open\n") == [("RM001", 1, 5, "unterminated single quote")]
    assert _findings('X=1\nrun "open\n') == [("RM001", 2, 5, "unterminated double quote")]


def _doubling_script() -> str:
    """288 bytes: each variable holds ten copies of the one before, seven levels deep (10**7 copies)."""
    text = "V1=x\n" + "".join(
        f"V{i}=" + f"$V{i - 1}" * 10 + "\n" for i in range(2, 9)) + "deepspeed --module openrlhf.cli.train_rm $V8\n"
    return text


@pytest.mark.parametrize("name,text", [("a#", "a#" * 1_500_000), ("A=1", "A=1 " * 20000),
                                       ("doubling", _doubling_script()),
                                       ("functions", "f() {\n g; g; g; g; g; g; g; g; g; g\n}\n" * 2 +
                                        "".join(f"f{i}() {{\n f{i - 1}; f{i - 1}; f{i - 1}; f{i - 1}\n}}\n" for i in range(1, 12)) +
                                        "f11\n")])
def test_hostile_scripts_are_read_in_linear_time_and_bounded_memory(name, text):
    import time
    import tracemalloc
    started = time.perf_counter()
    script = shell.parse(text)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    shell.parse(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 2.0, f"{name}: {elapsed:.2f} s"
    assert peak < 256 * 2 ** 20, f"{name}: {peak / 2 ** 20:.0f} MB"
    if name == "doubling":
        assert len(text) == 288
        assert [kind for kind, _, _ in script.problems] == ["expansion-budget-spent"]
        assert [message for rule, *_, message in _findings(text) if rule == "RM001"] == [
            "expansions in this script produce more text than rmlint follows (a variable built from copies of "
            "itself?); the rest is not read"]


def test_the_expansion_cap_is_an_rm001_finding():
    from conftest import findings_of_text
    found = findings_of_text("x.sh", _doubling_script())
    assert found[0][0] == "RM001" and found[0][1] in (6, 7)      # where V7 or V8 outgrows the budget
