"""Experiment runner: arms × seeds on one protocol, then a table of mean ± std over the seeds.

    python experiments/run.py --protocol=cross_view --seeds=0,1,2 --jobs=2
    python experiments/run.py --protocol=synthetic --arms=baseline,control,poseaug --set=poseaug.epochs=6
    python experiments/run.py --protocol=cross_view --report_only          # re-print the table of a finished grid

Each (seed, arm) is one `train.py` run in `<root>/seed<s>/<arm>/` (protocols in configs/protocols.py, arms in
configs/arms.py). The seed's `baseline` run pretrains once; every other arm starts from its weights with
`stage=poseaug`. Runs resume after an interruption (re-run the same command) and finished runs are skipped.
`--jobs` runs several single-threaded processes at once, which uses a 2-core CPU better than one process for
the small models of the protocols. The table goes to stdout, `<root>/summary.md` and `<root>/summary.json`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import arms as arms_lib  # noqa: E402
from configs import protocols  # noqa: E402
from experiments.stats import mean_std  # noqa: E402

_PROTOCOL = flags.DEFINE_enum("protocol", "synthetic", protocols.PROTOCOLS, "Protocol (configs/protocols.py).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds; each pretrains its own baseline.")
_ARMS = flags.DEFINE_list("arms", list(arms_lib.DEFAULT_ARMS), "Arms (configs/arms.py) and `baseline`.")
_ROOT = flags.DEFINE_string("root", None, "Grid directory (default runs/grid_<protocol>).")
_JOBS = flags.DEFINE_integer("jobs", 1, "Runs at once.", lower_bound=1)
_THREADS = flags.DEFINE_integer(
    "threads", 0, "TensorFlow threads per run (0: TF's default; 1 when jobs > 1).", lower_bound=0
)
_SET = flags.DEFINE_multi_string("set", [], "Extra config override for every run, e.g. poseaug.epochs=6.")
_SMOKE = flags.DEFINE_bool("smoke", False, "Seconds-long runs on tiny synthetic data (tests).")
_REPORT_ONLY = flags.DEFINE_bool("report_only", False, "Only aggregate the finished runs.")
_BASELINES = flags.DEFINE_string(
    "baselines",
    None,
    "Grid whose finished seed<s>/baseline runs the arms start from (same training data, e.g. runs/grid_standard for "
    "the 3dhp and cross_lab adaptation grids); default: this grid's own.",
)


@dataclasses.dataclass
class Run:
    arm: str
    seed: int
    workdir: pathlib.Path
    command: list[str]

    @property
    def done(self) -> bool:
        stem = "baseline" if self.arm == arms_lib.BASELINE else arms_lib.ARMS[self.arm]["arms"]
        return (self.workdir / f"{stem}.json").is_file() and (self.workdir / "results.json").is_file()


def _flag(key: str, value) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"--config.{key}={text}"


def plan(
    protocol: str,
    seeds: list[int],
    arms: list[str],
    root: pathlib.Path,
    extra: list[str],
    smoke: bool = False,
    baselines: pathlib.Path | None = None,
) -> list[Run]:
    """The runs of the grid, baselines first.

    With `baselines`, the arms start from that grid's `seed<s>/baseline` (which must be finished) and this grid
    pretrains nothing: a protocol that only changes the evaluation sets or the adaptation target shares the
    pretraining of the grid it was split from.

    Raises:
      ValueError: an unknown arm, or a shared baseline that is not finished.
    """
    unknown = [a for a in arms if a != arms_lib.BASELINE and a not in arms_lib.ARMS]
    if unknown:
        raise ValueError(f"Unknown arm(s) {unknown}; valid: baseline, {', '.join(arms_lib.ARMS)}.")
    config = f"--config=configs/protocols.py:{protocol}{',smoke' if smoke else ''}"
    runs = []
    for seed in seeds:
        base_dir = (baselines or root) / f"seed{seed}" / arms_lib.BASELINE
        common = [sys.executable, "train.py", config, f"--config.seed={seed}", *(f"--config.{e}" for e in extra)]
        baseline = Run(arms_lib.BASELINE, seed, base_dir, common + ["--config.stage=pretrain", f"--workdir={base_dir}"])
        if baselines is None:
            runs.append(baseline)
        elif not (base_dir / "baseline.weights.h5").is_file():
            raise ValueError(f"--baselines: {base_dir} has no finished baseline (baseline.weights.h5).")
        for arm in arms:
            if arm == arms_lib.BASELINE:
                continue
            workdir = root / f"seed{seed}" / arm
            overrides = [_flag(k, v) for k, v in arms_lib.ARMS[arm].items()]
            runs.append(
                Run(
                    arm,
                    seed,
                    workdir,
                    common
                    + overrides
                    + [
                        "--config.stage=poseaug",
                        f"--config.poseaug.pretrained={base_dir / 'baseline.weights.h5'}",
                        f"--workdir={workdir}",
                    ],
                )
            )
    return runs


def check_commands(runs: list[Run]) -> None:
    """Refuses a grid directory whose runs another command started (mixed settings in one table).

    Raises:
      SystemExit: naming the run directory and both commands.
    """
    for run in runs:
        record = run.workdir / "runner_command.json"
        if record.is_file():
            previous = json.loads(record.read_text())
            if previous[2:] != run.command[2:]:
                raise SystemExit(
                    f"{run.workdir} was started with another command:\n  {' '.join(previous[2:])}"
                    f"\nnow:\n  {' '.join(run.command[2:])}\nUse another --root."
                )


def _record_command(run: Run) -> None:
    run.workdir.mkdir(parents=True, exist_ok=True)
    (run.workdir / "runner_command.json").write_text(json.dumps(run.command))


def execute(runs: list[Run], *, jobs: int, threads: int) -> None:
    """Runs what is not done yet, at most `jobs` at once; an arm waits for its seed's baseline.

    Raises:
      SystemExit: a run failed (its log is named).
    """
    env = dict(os.environ)
    threads = threads or (1 if jobs > 1 else 0)
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    pending = [r for r in runs if not r.done]
    running: list[tuple[Run, subprocess.Popen, float]] = []
    start, total, finished = time.time(), len(pending), 0
    while pending or running:
        for run, proc, began in list(running):
            if proc.poll() is None:
                continue
            running.remove((run, proc, began))
            if proc.returncode != 0:
                for _, other, _ in running:
                    other.terminate()
                raise SystemExit(
                    f"{run.arm} seed {run.seed} failed (exit {proc.returncode}); see {run.workdir / 'runner.log'}"
                )
            finished += 1
            eta = (time.time() - start) / finished * (total - finished)
            print(
                f"[{finished}/{total}] {run.arm} seed {run.seed} done in {time.time() - began:.0f} s "
                f"(ETA {eta / 60:.0f} min)",
                flush=True,
            )
        ready = [r for r in pending if r.arm == arms_lib.BASELINE or _baseline_done(runs, r.seed)]
        while ready and len(running) < jobs:
            run = ready.pop(0)
            pending.remove(run)
            _record_command(run)
            log = open(run.workdir / "runner.log", "a")  # noqa: SIM115 (closed with the process)
            print(f"start {run.arm} seed {run.seed}: {run.workdir}", flush=True)
            running.append((run, subprocess.Popen(run.command, cwd=REPO, env=env, stdout=log, stderr=log), time.time()))
        time.sleep(1.0)


def _baseline_done(runs: list[Run], seed: int) -> bool:
    return all(r.done for r in runs if r.arm == arms_lib.BASELINE and r.seed == seed)


def summarize(runs: list[Run]) -> dict:
    """{"selected"|"last": {arm: {set: {"mpjpe": (mean, std), "pa_mpjpe": (mean, std), "seeds": n}}}}.

    "selected" is each arm's validation-selected model (the baseline's for `baseline`), "last" its last epoch.
    Sample standard deviation over seeds (0 for one seed).
    """
    values: dict = {"selected": {}, "last": {}}
    for run in runs:
        if not run.done:
            continue
        results = json.loads((run.workdir / "results.json").read_text())
        key = "baseline" if run.arm == arms_lib.BASELINE else arms_lib.ARMS[run.arm]["arms"]
        entries = {"selected": results.get(key, {}), "last": results.get(f"{key}_last", results.get(key, {}))}
        for kind, per_set in entries.items():
            for name, scores in per_set.items():
                cell = values[kind].setdefault(run.arm, {}).setdefault(name, {"mpjpe": [], "pa_mpjpe": []})
                cell["mpjpe"].append(scores["mpjpe"])
                cell["pa_mpjpe"].append(scores["pa_mpjpe"])
    return {
        kind: {
            arm: {
                name: {"mpjpe": mean_std(c["mpjpe"]), "pa_mpjpe": mean_std(c["pa_mpjpe"]), "seeds": len(c["mpjpe"])}
                for name, c in per_set.items()
            }
            for arm, per_set in per_arm.items()
        }
        for kind, per_arm in values.items()
    }


def _control_arm(per_arm: dict) -> str | None:
    """The arm Δ is measured against: `control`, else the first arm that is a control run."""
    if "control" in per_arm:
        return "control"
    return next((a for a in per_arm if arms_lib.ARMS.get(a, {}).get("arms") == "control"), None)


def markdown(summary: dict, *, title: str) -> str:
    """Tables of MPJPE / PA-MPJPE mean ± std per arm and set, with the MPJPE change against the control."""
    lines = [f"## {title}", ""]
    for kind, label in (("selected", "validation-selected models"), ("last", "last epoch")):
        per_arm = summary.get(kind, {})
        sets = sorted({s for per_set in per_arm.values() for s in per_set if s != "validation"})
        if not sets:
            continue
        lines += [
            f"MPJPE / PA-MPJPE (mm), mean ± std over seeds, {label}; Δ: change of the mean MPJPE against the control.",
            "",
            "| arm | seeds | " + " | ".join(f"{s} | Δ" for s in sets) + " |",
            "|---|---|" + "---|---|" * len(sets),
        ]
        control = per_arm.get(_control_arm(per_arm), {})
        for arm, per_set in per_arm.items():
            cells = []
            for s in sets:
                r = per_set.get(s)
                if r is None:
                    cells += ["–", "–"]
                    continue
                (m, sd), (pm, psd) = r["mpjpe"], r["pa_mpjpe"]
                cells.append(f"{m:.1f} ± {sd:.1f} / {pm:.1f} ± {psd:.1f}")
                ref = control.get(s)
                cells.append(
                    f"{m - ref['mpjpe'][0]:+.1f} mm ({100 * (m / ref['mpjpe'][0] - 1):+.1f} %)"
                    if ref and arm != _control_arm(per_arm)
                    else ""
                )
            seeds = max(r["seeds"] for r in per_set.values())
            lines.append(f"| {arm} | {seeds} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    root = pathlib.Path(_ROOT.value or f"runs/grid_{_PROTOCOL.value}")
    if not root.is_absolute():
        root = REPO / root
    extra = [s if "=" in s else sys.exit(f"--set expects key=value; received {s!r}") for s in _SET.value]
    baselines = None
    if _BASELINES.value:
        baselines = pathlib.Path(_BASELINES.value)
        baselines = baselines if baselines.is_absolute() else REPO / baselines
    arm_names = [a for a in _ARMS.value if not (baselines and a == arms_lib.BASELINE)]
    try:
        runs = plan(_PROTOCOL.value, [int(s) for s in _SEEDS.value], arm_names, root, extra, _SMOKE.value, baselines)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    check_commands(runs)
    if not _REPORT_ONLY.value:
        execute(runs, jobs=_JOBS.value, threads=_THREADS.value)
    summary = summarize(runs)
    text = markdown(
        summary,
        title=f"{_PROTOCOL.value}: {', '.join(_ARMS.value)}; seeds {', '.join(_SEEDS.value)}"
        + (f"; {' '.join(extra)}" if extra else ""),
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "summary.md").write_text(text)
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(text)


if __name__ == "__main__":
    app.run(main)
