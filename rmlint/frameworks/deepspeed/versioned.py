"""A DeepSpeed config inspected for the target DeepSpeed release (rmlint.versions), or, when that
is not known, for the newest release with each finding that not every release shares saying for
which releases it holds. The config is inspected once per era in which nothing it names changed."""

from ...versions import current
from .releases import releases, schema_at, version_key


def _beyond(items: dict, newest: str, target) -> None:
    """The target DeepSpeed is newer than any release the table holds: a key the table does not know may
    be new there, so it is not called unknown or ignored, but listed as beyond the table."""
    for kind in ("unknown", "ignored"):
        for item in items[kind]:
            items["beyond"].append({**item, "newest": newest, "target": target.text, "target_source": target.source,
                                    "was": kind})
        items[kind] = []


def _paths(config: dict, prefix: str = "", depth: int = 0) -> list:
    out = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        out.append(path)
        if isinstance(value, dict) and depth < 3:
            out += _paths(value, path + ".", depth + 1)
    return out


def inspect(config, inspector_class) -> dict:
    """The inspector's items (unknown, ignored, deprecated, removed, invalid, ...) for the target release."""
    table = releases()
    config = config if isinstance(config, dict) else {}
    moments = table.moments(_paths(config))
    target = current()["deepspeed"]
    index = (table.index(target.text) or 0) if target.known else None   # before 0.10: judged as the oldest
    chosen = max(m for m in moments if m <= index) if index is not None else moments[-1]
    seen, by_moment = {}, {}
    for moment in [chosen] + [m for m in moments if m != chosen]:
        inspector = inspector_class(schema_at(moment))
        inspector.top(config)
        inspector.autos(config)
        by_moment[moment] = inspector.items
        if moment == chosen and not any(inspector.items.values()):
            return inspector.items      # nothing to report: no release needs comparing
        for kind, items in inspector.items.items():
            for item in items:
                seen.setdefault((kind, item["path"]), set()).add(moment)
    ends = dict(zip(moments, [m - 1 for m in moments[1:]] + [len(table.versions) - 1]))
    items = by_moment[chosen]
    if target.known and table.keys[-1] < version_key(target.text):
        _beyond(items, table.versions[-1], target)
    for kind, found in items.items():
        for item in found:
            holds = seen.get((item.get("was", kind), item["path"]), moments)
            if kind == "beyond" or len(holds) == len(moments):
                continue        # every release agrees
            if target.known:
                item["target"], item["target_source"] = target.text, target.source
            else:
                item["releases"] = table.span(i for m in holds for i in range(m, ends[m] + 1))
    return items
