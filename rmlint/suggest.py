""""Did you mean", decided in one place for every reader and command.

The policy: names are compared by difflib's ratio after folding case and treating `-` and `_` alike
(and leading dashes ignored), so `--zero-stage` is `--zero_stage` exactly. Three levels of confidence:

- LIKELY (0.75): a hint added to a refusal that stands anyway (an unknown key, flag, setting, rule);
- SURE (0.85): the guess is itself the finding (a key a trainer would take silently is reported as
  a misspelling of another), or it reaches across a config tree (a misspelled parent key);
- CERTAIN (0.9): `--fix` rewrites the name.

The guess must stand alone: a tie for the best makes it ambiguous, and an ambiguous guess is no guess;
a fix needs a clear winner (no other candidate within MARGIN, 0.05, of it). Candidates that fold to the
same name count as one.
"""

LIKELY, SURE, CERTAIN = 0.75, 0.85, 0.9
MARGIN = 0.05


def _folded(name) -> str:
    return str(name).lower().replace("_", "-").lstrip("-")


def suggest(word, candidates, cutoff: float = LIKELY) -> str | None:
    """The one candidate closest to `word` at `cutoff` or above, or None (none close, or a tie)."""
    import difflib      # only once a name is unknown: importing it costs every cold start ~1 ms
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(_folded(word))
    margin = MARGIN if cutoff >= CERTAIN else 0.0
    floor = cutoff - margin
    best = {}                                   # folded name -> (ratio, candidate)
    for candidate in candidates:
        folded = _folded(candidate)
        matcher.set_seq1(folded)
        if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
            continue
        ratio = matcher.ratio()
        exact = difflib.SequenceMatcher(None, str(word), str(candidate)).ratio()
        if ratio >= floor and (ratio, exact) > best.get(folded, (-1, -1))[:2]:
            best[folded] = (ratio, exact, candidate)
    ranked = sorted(best.values(), key=lambda entry: entry[:2], reverse=True)
    if not ranked or ranked[0][0] < cutoff:
        return None
    if len(ranked) > 1 and ranked[1][0] >= ranked[0][0] - margin:
        return None
    return ranked[0][2]
