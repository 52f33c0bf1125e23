"""Size of an rmlint install, without and with the `deepspeed` extra (exact DeepSpeed validation).

Usage: python benchmarks/install_size.py
Makes two fresh virtualenvs in a temporary folder: `pip install .` and, after
`pip install torch==2.13.0` (the CPU build on local disk here), `pip install '.[deepspeed]'`;
reports the size of each site-packages and the largest packages in it.
"""

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def site_packages(env: Path) -> Path:
    return next(env.glob("lib/python*/site-packages"))


def install(env: Path, *steps: list) -> Path:
    venv.create(env, with_pip=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for step in steps:
        subprocess.run(pip + step, check=True, cwd=ROOT)
    return site_packages(env)


def report(label: str, packages: Path):
    folders = sorted(((size(p), p.name) for p in packages.iterdir() if p.is_dir()), reverse=True)
    print(f"{label}: {size(packages) / 1e6:,.1f} MB in site-packages")
    print("   largest: " + ", ".join(f"{name} {bytes_ / 1e6:,.1f} MB" for bytes_, name in folders[:5]))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rmlint-size-") as tmp:
        base = Path(tmp)
        plain = install(base / "plain", ["."])
        empty = site_packages(base / "plain")
        report("pip install rmlint", plain)
        exact = install(base / "exact", ["torch==2.13.0"], [".[deepspeed]"])
        report("pip install 'rmlint[deepspeed]' (torch 2.13.0 CPU)", exact)
        pip_only = size(empty / "pip") if (empty / "pip").exists() else 0
        print(f"(pip itself accounts for {pip_only / 1e6:.1f} MB of each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
