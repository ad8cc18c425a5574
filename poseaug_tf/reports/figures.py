"""The visual report of a run: PNGs in `<workdir>/figures/` and images for TensorBoard.

Figures (names of `write_figures`' result):
  augmentations       source poses beside their BA, BL and RT augmentations, 3D and projected 2D (paper Fig. 3)
  distributions       viewpoint and root-position histograms, source vs augmented (paper Fig. 7)
  training_curves     every loss, feedback ratios, augmentation statistics and MPJPE per set and epoch
  per_joint_errors    per-joint MPJPE bars, selected baseline vs selected PoseAug model
  per_action_errors   the per-action MPJPE table as an image (and `per_action.md`, name "per_action_table")

Everything comes from the workdir (config.json, history.json, baseline.json, poseaug.json, poseaug/ckpt);
nothing is re-evaluated. The augmentor figures sample the restored augmentor on training poses (without the
per-epoch bone-length swap of the GAN feed) with fixed noise, in batches of the run's GAN batch size with
batch-statistics BatchNorm (as in training); the augmentor's BatchNorm statistics are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from absl import logging

from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.reports.augmentation_samples import AugmentationSample, sample_augmentations
from poseaug_tf.reports.plots import canvas, curves, distributions, errors, poses
from poseaug_tf.training import model_files, run_dir
from poseaug_tf.training.callbacks import RunCallback

FIGURE_NAMES = ("augmentations", "distributions", "training_curves", "per_joint_errors", "per_action_errors")
AUGMENTOR_FIGURES = ("augmentations", "distributions")
DEFAULT_ASPECT = 1.0  # image height / width: Human3.6M cameras are 1000 × 1000 or 1000 × 1002 px


def selected_scores(run: run_dir.RunRecords) -> tuple[dict, dict]:
    """Eval records of the selected models (baseline and every arm) from the history (no re-evaluation).

    The models of `run_dir.selected_epochs`; an arm still training (no selection record yet) at its last epoch.

    Returns:
      ({model: {set: eval record}}, {model: legend label}).
    """
    scores, labels = {}, {}
    for model, (stage, epoch) in run_dir.selected_epochs(run.history, run.selection, unrecorded_arms=True).items():
        record = run_dir.find_record(run.history, stage, epoch)
        if record is not None:
            scores[model] = record["eval"]
            labels[model] = f"{model} ({stage} epoch {epoch})"
    return scores, labels


def _config_value(config, path: str, default):
    node = config
    for key in path.split("."):
        if node is None or key not in node:
            return default
        node = node[key]
    return node


@dataclasses.dataclass
class _Context:
    """Inputs shared by the figure builders; the data and the augmentor sample are loaded on first use."""

    run: run_dir.RunRecords
    datasets: Any = None
    augmentor: Any = None
    num_samples: int = 2048
    num_poses: int = 4
    seed: int = 0
    dpi: int = canvas.DPI
    _sample: AugmentationSample | None = None
    _augmentor_loaded: bool = False

    def get_datasets(self):
        if self.datasets is None:
            if self.run.config is None:
                raise ValueError(f"Expected {self.run.workdir / 'config.json'} to load the data; it is missing.")
            from poseaug_tf.data.datasets import load_datasets

            self.datasets = load_datasets(self.run.config)
        return self.datasets

    def get_augmentor(self):
        if self.augmentor is None and not self._augmentor_loaded:
            self.augmentor = model_files.load_augmentor(self.run)
            self._augmentor_loaded = True
        return self.augmentor

    def subsample(self, pose_set) -> np.ndarray:
        """Indices of up to `num_samples` samples of a set, drawn without replacement under `seed`."""
        rng = np.random.default_rng(self.seed)
        return rng.permutation(len(pose_set))[: self.num_samples]

    def sample(self) -> AugmentationSample:
        if self._sample is None:
            train = self.get_datasets().train
            index = self.subsample(train)
            batch = int(_config_value(self.run.config, "poseaug.batch_size", 256))
            two_sided = bool(_config_value(self.run.config, "poseaug.two_sided_filter", True))
            self._sample = sample_augmentations(
                self.get_augmentor(),
                train.pose3d[index],
                train.camera[index],
                seed=self.seed,
                batch_size=min(batch, len(index)),
                two_sided=two_sided,
            )
        return self._sample


def _augmentations(ctx: _Context):
    s = ctx.sample()
    # Prefer samples the training filter keeps (projection inside the image), as the estimator sees them.
    order = np.concatenate([np.flatnonzero(s.valid), np.flatnonzero(~s.valid)])[: ctx.num_poses]
    return poses.augmentation_figure(
        {k: v[order] for k, v in s.poses_3d.items()},
        {k: v[order] for k, v in s.poses_2d.items()},
        aspect=DEFAULT_ASPECT,
        notes={k: [v[i] for i in order] for k, v in s.notes.items()},
        dpi=ctx.dpi,
    )


def _distributions(ctx: _Context):
    s = ctx.sample()
    sets = {"source (train)": s.poses_3d["source"], "PoseAug RT (all)": s.poses_3d["RT"]}
    absolute = {name: True for name in sets}
    if s.valid.any():
        sets["PoseAug RT (kept, in image)"] = s.poses_3d["RT"][s.valid]
        absolute["PoseAug RT (kept, in image)"] = True
    for name, eval_set in ctx.get_datasets().eval_sets.items():
        if len(sets) < distributions.MAX_COLUMNS:
            sets[f"{name} (eval)"] = eval_set.pose_set.pose3d[ctx.subsample(eval_set.pose_set)]
            absolute[f"{name} (eval)"] = not eval_set.pose_set.root_relative
    # The positions of all raw RT outputs, most far outside the image, would stretch the shared range.
    range_sets = [n for n in sets if n != "PoseAug RT (all)"]
    return distributions.distribution_figure(sets, absolute=absolute, range_sets=range_sets, dpi=ctx.dpi)


def _training_curves(ctx: _Context):
    warmup = int(_config_value(ctx.run.config, "poseaug.warmup", 0))
    selected = {m: (run_dir.stage_of(m), int(s["epoch"])) for m, s in ctx.run.selection.items()}
    return curves.training_curves_figure(ctx.run.history, warmup=warmup, selected=selected, dpi=ctx.dpi)


def _per_joint(ctx: _Context):
    scores, labels = selected_scores(ctx.run)
    return errors.per_joint_figure(scores, labels=labels, dpi=ctx.dpi)


def _per_action(ctx: _Context):
    return errors.per_action_figure(selected_scores(ctx.run)[0], dpi=ctx.dpi)


_BUILDERS: dict[str, Callable[[_Context], Any]] = {
    "augmentations": _augmentations,
    "distributions": _distributions,
    "training_curves": _training_curves,
    "per_joint_errors": _per_joint,
    "per_action_errors": _per_action,
}


def _missing_input(name: str, ctx: _Context) -> str | None:
    """Why figure `name` cannot be drawn from what the run holds (None when it can)."""
    if name in AUGMENTOR_FIGURES and ctx.get_augmentor() is None:
        return "no PoseAug checkpoint (poseaug/ckpt) yet"
    if name == "training_curves" and not ctx.run.history:
        return "history.json is missing or empty"
    if name in ("per_joint_errors", "per_action_errors") and not selected_scores(ctx.run)[0]:
        return "no evaluation record of a selected model in history.json"
    return None


def _check_names(names: Sequence[str] | None) -> tuple[str, ...]:
    names = tuple(FIGURE_NAMES if names is None else names)
    unknown = [n for n in names if n not in FIGURE_NAMES]
    if unknown:
        raise InputError(f"figures: unknown figure {', '.join(map(repr, unknown))}; valid: {', '.join(FIGURE_NAMES)}.")
    return names


def _build_all(ctx: _Context, names: Sequence[str], *, strict: bool, on_figure: Callable[[str, Any], None]):
    for name in _check_names(names):
        reason = _missing_input(name, ctx)
        if reason is not None:
            logging.info("Figure %s skipped: %s.", name, reason)
            continue
        try:
            fig = _BUILDERS[name](ctx)
            on_figure(name, fig)
        except Exception:  # noqa: BLE001  (non-strict: a figure must never end a finished training run)
            if strict:
                raise
            logging.exception("Figure %s failed; continuing without it.", name)


def write_figures(
    workdir: str | pathlib.Path,
    *,
    names: Sequence[str] | None = None,
    datasets=None,
    augmentor=None,
    num_samples: int = 2048,
    num_poses: int = 4,
    seed: int = 0,
    dpi: int = canvas.DPI,
    out_dir: str | pathlib.Path | None = None,
    epochs: str = "selected",
    strict: bool = True,
) -> dict[str, pathlib.Path]:
    """Writes the run's figures as PNGs (and the per-action table as Markdown) into `<workdir>/figures/`.

    Args:
      workdir: training directory.
      names: subset of `FIGURE_NAMES` (default all). Figures whose inputs the workdir lacks are skipped.
      datasets: the run's `training.datasets.Datasets` (loaded from config.json when None and needed).
      augmentor: a PoseAugmentor (restored from `<workdir>/poseaug/ckpt` when None and needed).
      num_samples: source poses fed to the augmentor (and eval poses per set) for the distributions.
      num_poses: rows of the augmentation grid.
      seed: sample choice and augmentor noise.
      dpi: PNG resolution (pixel size = `canvas.FIGURE_SIZES[name]` × dpi).
      out_dir: output folder (default `<workdir>/figures`).
      epochs: epochs of the error figures and the curves' markers ("selected" or "last", see `run_dir.read_run`).
      strict: raise on a failing figure (False: log it and continue, for the end of training).

    Returns:
      name → path of every file written ("per_action_table" for per_action.md).

    Raises:
      InputError: unknown `names`, missing `workdir`, non-positive `num_samples`/`num_poses`, or an `out_dir`
        that is a file or cannot be written.
    """
    if num_samples < 1 or num_poses < 1:
        raise InputError(f"num_samples, num_poses: expected positive numbers; received {num_samples}, {num_poses}.")
    ctx = _Context(run_dir.read_run(workdir, epochs=epochs), datasets, augmentor, num_samples, num_poses, seed, dpi)
    out = files.check_folder(out_dir if out_dir is not None else ctx.run.workdir / run_dir.FIGURES, "figures folder")
    written: dict[str, pathlib.Path] = {}

    def save(name, fig):
        written[name] = canvas.save_png(fig, out / f"{name}.png")

    _build_all(ctx, names, strict=strict, on_figure=save)
    if "per_action_errors" in written:
        table = out / "per_action.md"
        files.write_text_atomic(table, errors.per_action_markdown(selected_scores(ctx.run)[0]))
        written["per_action_table"] = table
    logging.info("Figures written to %s: %s", out, ", ".join(written) or "none")
    return written


def figure_images(
    workdir: str | pathlib.Path,
    *,
    names: Sequence[str] | None = None,
    datasets=None,
    augmentor=None,
    num_samples: int = 512,
    num_poses: int = 4,
    seed: int = 0,
    dpi: int = canvas.DPI,
    epochs: str = "selected",
    strict: bool = True,
) -> dict[str, np.ndarray]:
    """The figures of `write_figures` as (H, W, 3) uint8 RGB arrays (same arguments; nothing is written)."""
    ctx = _Context(run_dir.read_run(workdir, epochs=epochs), datasets, augmentor, num_samples, num_poses, seed, dpi)
    images: dict[str, np.ndarray] = {}
    _build_all(ctx, names, strict=strict, on_figure=lambda n, fig: images.__setitem__(n, canvas.figure_to_rgb(fig)))
    return images


def tensorboard_images(
    writer,
    source: str | pathlib.Path | Mapping[str, Any],
    step: int,
    *,
    names: Sequence[str] = ("augmentations", "distributions", "training_curves"),
    num_samples: int = 512,
) -> dict[str, np.ndarray]:
    """Writes figures as TensorBoard images `figures/<name>` (cheap enough for every few epochs).

    Never raises on a failing figure (it is logged): a summary must not end a training run.

    Args:
      writer: a `tf.summary.SummaryWriter`.
      source: the workdir, or a mapping {"workdir": ..., "augmentor": live PoseAugmentor, "datasets": Datasets}
        so that nothing is reloaded during training.
      step: summary step (e.g. the global epoch).
      names: figures to draw (subset of `FIGURE_NAMES`).
      num_samples: source poses for the distributions.

    Returns:
      name → the (H, W, 3) uint8 image written.
    """
    import tensorflow as tf

    objects = dict(source) if isinstance(source, Mapping) else {"workdir": source}
    if "workdir" not in objects:
        raise ValueError(f"Expected `source` with a 'workdir' entry; received keys {sorted(objects)}.")
    images = figure_images(
        objects["workdir"],
        names=names,
        datasets=objects.get("datasets"),
        augmentor=objects.get("augmentor"),
        num_samples=num_samples,
        strict=False,
    )
    with writer.as_default(step=step):
        for name, image in images.items():
            tf.summary.image(f"figures/{name}", image[None], step=step)
    writer.flush()
    return images


class FigureCallback(RunCallback):
    """A run's figures: TensorBoard images every `every` PoseAug epochs (0: none), and the PNGs at the end."""

    def __init__(self, every: int):
        self.every = every

    def on_arm_epoch_end(self, *, arm, epoch, workdir, writer, augmentor, datasets) -> None:
        if arm == "poseaug" and self.every > 0 and epoch % self.every == 0:
            tensorboard_images(writer, {"workdir": workdir, "augmentor": augmentor, "datasets": datasets}, step=epoch)

    def on_run_end(self, *, workdir, datasets) -> None:
        written = write_figures(workdir, datasets=datasets, strict=False)
        logging.info("Figures: %s", ", ".join(str(p) for p in written.values()))
