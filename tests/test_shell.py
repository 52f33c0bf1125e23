"""The shell reader: words, their places, variables, here-documents, and what stays unknown."""

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


def test_unterminated_heredoc_and_quotes_are_problems():
    assert shell.parse("cat <<EOF\nno end\n").problems == [
        ("here-document at this line is not terminated (wanted `EOF`)", 4)]
    assert shell.parse("run 'open\n").problems == [("unterminated single quote", 4)]
    assert shell.parse('run "open\n').problems == [("unterminated double quote", 4)]
