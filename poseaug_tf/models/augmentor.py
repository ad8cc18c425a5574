"""The PoseAug augmentor (generator): BA → BL → RT on absolute camera-frame poses (docs/reference.md §2).

Every operation has its own MLP trunk (`augmentor_ops.AugmentorTrunk`) that reads the root-relative SOURCE pose
(flattened to 48) and its own 48-d Gaussian noise; only the application of the operations is chained. The
operations themselves are pure functions in `augmentor_ops`.

Behind-the-camera / out-of-image guard. The reference places the augmented root at t = (t_x, t_y, raw_z²) with
no minimum depth, so joints can land at or behind the camera plane (docs/reference.md §9.4), where the projection
flips and clamps them; and its training-buffer filter drops a sample only when a projected coordinate is > 1,
keeping poses that leave the image on the left or top (§9.3). We guard the first in the model and the second in
a pure filter:

* `depth_guard="min_depth"` (default) raises t_z to max(raw_z², min_joint_depth − min_j z'_j), where z' are the
  joint depths of the rotated root-relative pose, so the nearest joint is at least `min_joint_depth` = 1.0 m in
  front of the camera. It is a no-op for every pose that already clears the bound, so it never changes a
  realistic placement: in H36M (all subjects and cameras) the nearest joint is ≥ 2.05 m away (root 2.5–7.6 m),
  and at 1 m an H36M camera (normalised focal ≈ 2.29) sees only ±0.43 m laterally, so a pose the guard touches
  is almost always out of frame and dropped by the buffer filter anyway. It exists to keep Z > 0 (no sign
  flip, no 1/Z blow-up in the projection and feedback losses). The lift is a stop-gradient (straight-through)
  term: gradients are exactly the reference's, so a pose pinned at the floor keeps learning through raw_z.
  `depth_guard="reference"` reproduces t_z = raw².
* The augmentor never sees the camera intrinsics, so out-of-image poses are removed after projection by
  `valid_projection_mask(pose_2d, two_sided=True)` (|u|, |v| ≤ 1); `two_sided=False` is the reference's `≤ 1`
  test.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from poseaug_tf.core import geometry, shapes, skeleton
from poseaug_tf.core import placement as placement_lib
from poseaug_tf.models import augmentor_ops
from poseaug_tf.models.augmentor_ops import AugmentorTrunk

NUM_NOISE_BRANCHES = 4
"""Noise slices of the `noise` argument, in order BA, BL, R, T."""

RT_MODES = ("reference", "bounded")
"""`rt_mode`: the reference's free axis-angle and translation, or a `placement.Placement`-bounded RT."""

RT_ANCHORS = ("noise", "none")
"""Bounded RT: placements anchored on the branch noise with a learned offset, or fully learned."""

_POSE_DIM = skeleton.NUM_JOINTS * 3


def valid_projection_mask(pose_2d, *, bound: float = 1.0, two_sided: bool = True) -> tf.Tensor:
    """Which projected poses lie inside the normalised image (for the estimator's training buffer).

    Args:
      pose_2d: (B, J, 2) normalised screen coordinates (NumPy or tensor).
      bound: Largest allowed coordinate.
      two_sided: True keeps samples with every |coordinate| ≤ bound. False is the reference's one-sided test
        (every coordinate ≤ bound; docs/reference.md §9.3), which keeps poses that leave the image left or top.

    Returns:
      (B,) bool. Non-finite coordinates are invalid in both modes (the reference's `sum(x > 1) < 1` would
      keep NaN; no finite input is affected).

    Raises:
      ValueError: If `pose_2d` is not of shape (B, J, 2).
    """
    pose_2d = tf.convert_to_tensor(pose_2d)
    if pose_2d.shape.rank != 3 or pose_2d.shape[-1] != 2:
        raise ValueError(f"Expected `pose_2d` of shape (B, J, 2); received {tuple(pose_2d.shape)}.")
    coordinates = tf.abs(pose_2d) if two_sided else pose_2d
    # DEVIATION(docs/reference.md §9.3) when two_sided: the reference only checks > 1.
    return tf.reduce_all(coordinates <= bound, axis=[1, 2])


@keras.saving.register_keras_serializable(package="poseaug_tf")
class PoseAugmentor(keras.Model):
    """PoseAug augmentor: BA, BL and RT operations each driven by a noisy MLP trunk (docs/reference.md §2).

    Call: `augmentor(pose_3d_cam, training=True, noise=None)` with `pose_3d_cam` (B, 16, 3) absolute
    camera-frame metres and optional `noise` (B, 4, noise_dim) [BA, BL, R, T] (drawn from N(0, 1) with the
    model's own `keras.random.SeedGenerator` when None). `training` defaults to True because the reference only
    ever runs the generator in training mode (batch-statistics BatchNorm). Returns a dict: "pose_ba" (B, 16, 3),
    "ba_diff" (B, 15), "pose_bl" (B, 16, 3), "blr" (B, 9), "pose_rt" (B, 16, 3) (root = translation),
    "rotation" (B, 3) axis-angle (`rt_mode="reference"`) or yaw/pitch/roll in radians ("bounded"),
    "rotation_matrix" (B, 3, 3), "translation" (B, 3). A disabled operation is the identity (ba_diff = blr =
    rotation = 0, R = I, translation = root of pose_bl) and builds no trunk.

    `rt_mode="bounded"` keeps the R and T trunks but maps their tanh outputs onto a `placement.Placement`: any
    yaw about the bodies' vertical axis, a bounded pitch and roll, and a root depth and image position inside
    the training cameras' ranges (widened by the placement's margin). The reference's RT instead allows any
    rotation and an unbounded translation (docs/reference.md §2.4). With `rt_anchor="noise"` each placement starts
    from a uniform draw that is a fixed function of the R and T branches' own noise (u = erf(n/√2) of their
    first three components) and the trunk adds a learned offset of at most `rt_offset` (in unit parameters; the
    yaw wraps around, the others are clipped to their range). A fully learned placement (`rt_anchor="none"`,
    s = tanh(trunk output)) collapses onto a few saturated values: on the cross-view protocol 89 % of its yaws
    sat within 30° of +180° (docs/results.md).

    Args:
      use_ba: Enable the bone-angle operation.
      use_bl: Enable the bone-length operation.
      use_rt: Enable the rigid transform (R and T trunks).
      hidden_units: Trunk width (reference 256).
      num_blocks: Non-residual blocks per trunk (reference 2).
      noise_dim: Noise features per branch (reference 48).
      blr_tanh_limit: Bound of the bone-length ratios (reference `--blr_tanhlimit` 0.2).
      depth_guard: "min_depth" (default) or "reference" (t_z = raw², no minimum); see the module docstring.
      min_joint_depth: Metres; nearest-joint depth enforced by "min_depth".
      seed: Seed of the internal noise generator (None: random).
      synchronized_bn: Synchronise BatchNorm statistics across replicas (tf.distribute).
      rt_mode: "reference" or "bounded" (see above).
      placement: `Placement.to_config()` dict of the bounded RT (required when rt_mode="bounded").
      rt_anchor: "noise" or "none" (bounded RT only, see above).
      rt_offset: largest learned offset of an anchored placement, in unit parameters (the range is [−1, 1]).
    """

    def __init__(
        self,
        *,
        use_ba: bool = True,
        use_bl: bool = True,
        use_rt: bool = True,
        hidden_units: int = 256,
        num_blocks: int = 2,
        noise_dim: int = 48,
        blr_tanh_limit: float = 0.2,
        depth_guard: str = "min_depth",
        min_joint_depth: float = 1.0,
        seed: int | None = None,
        synchronized_bn: bool = False,
        rt_mode: str = "reference",
        placement: dict | None = None,
        rt_anchor: str = "noise",
        rt_offset: float = 0.25,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _validate_options(
            depth_guard=depth_guard,
            min_joint_depth=min_joint_depth,
            hidden_units=hidden_units,
            num_blocks=num_blocks,
            noise_dim=noise_dim,
            blr_tanh_limit=blr_tanh_limit,
        )
        if rt_mode not in RT_MODES:
            raise ValueError(f"Expected `rt_mode` in {RT_MODES}; received {rt_mode!r}.")
        if rt_mode == "bounded" and placement is None:
            raise ValueError("rt_mode='bounded' needs a `placement` (placement.measure_placement(...).to_config()).")
        if rt_anchor not in RT_ANCHORS:
            raise ValueError(f"Expected `rt_anchor` in {RT_ANCHORS}; received {rt_anchor!r}.")
        if not 0.0 <= rt_offset <= 2.0:
            raise ValueError(f"Expected `rt_offset` in [0, 2]; received {rt_offset}.")
        self.rt_mode, self.rt_anchor, self.rt_offset = rt_mode, rt_anchor, float(rt_offset)
        self.placement = None if placement is None else placement_lib.Placement.from_config(placement)
        self.use_ba, self.use_bl, self.use_rt = use_ba, use_bl, use_rt
        self.hidden_units, self.num_blocks, self.noise_dim = hidden_units, num_blocks, noise_dim
        self.blr_tanh_limit = blr_tanh_limit
        self.depth_guard, self.min_joint_depth = depth_guard, min_joint_depth
        self.seed = seed
        self.synchronized_bn = synchronized_bn
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        trunk = dict(hidden_units=hidden_units, num_blocks=num_blocks, synchronized_bn=synchronized_bn)
        pose_noise = _POSE_DIM + noise_dim
        self.ba_trunk = AugmentorTrunk(pose_noise, skeleton.NUM_BONES * 3, name="ba_trunk", **trunk) if use_ba else None
        # BL also reads the source bone lengths (docs/reference.md §2.3): 48 + 15 + 48 = 111 inputs.
        self.bl_trunk = (
            AugmentorTrunk(pose_noise + skeleton.NUM_BONES, skeleton.NUM_BL_RATIOS, name="bl_trunk", **trunk)
            if use_bl
            else None
        )
        self.r_trunk = AugmentorTrunk(pose_noise, 3, name="r_trunk", **trunk) if use_rt else None
        self.t_trunk = AugmentorTrunk(pose_noise, 3, name="t_trunk", **trunk) if use_rt else None

    def _trunks(self) -> list[AugmentorTrunk]:
        return [t for t in (self.ba_trunk, self.bl_trunk, self.r_trunk, self.t_trunk) if t is not None]

    def build(self, input_shape=None):
        for trunk in self._trunks():
            trunk.build((None, trunk.input_dim))

    def call(self, pose_3d_cam, training=True, noise=None):
        pose_3d_cam = tf.convert_to_tensor(pose_3d_cam, dtype=self.compute_dtype)
        shapes.check_batch_shape(pose_3d_cam, (skeleton.NUM_JOINTS, 3), "pose_3d_cam")
        batch = tf.shape(pose_3d_cam)[0]
        if noise is None:
            noise = keras.random.normal(
                (batch, NUM_NOISE_BRANCHES, self.noise_dim), seed=self.seed_generator, dtype=self.compute_dtype
            )
        else:
            noise = tf.convert_to_tensor(noise, dtype=self.compute_dtype)
            shapes.check_batch_shape(noise, (NUM_NOISE_BRANCHES, self.noise_dim), "noise")
        pose_flat = tf.reshape(geometry.root_relative(pose_3d_cam), (batch, _POSE_DIM))
        zeros = tf.zeros((batch, skeleton.NUM_BONES), self.compute_dtype)

        def features(branch: int, *extra: tf.Tensor) -> tf.Tensor:
            return tf.concat([pose_flat, *extra, noise[:, branch]], axis=-1)

        pose_ba, ba_diff = pose_3d_cam, zeros
        if self.use_ba:
            gamma_ba = tf.reshape(self.ba_trunk(features(0), training=training), (batch, skeleton.NUM_BONES, 3))
            pose_ba, ba_diff = augmentor_ops.bone_angle(pose_3d_cam, gamma_ba)
        pose_bl, blr = pose_ba, zeros[:, : skeleton.NUM_BL_RATIOS]
        if self.use_bl:
            raw_bl = self.bl_trunk(features(1, geometry.bone_lengths(pose_3d_cam)), training=training)
            blr = augmentor_ops.bone_length_ratios(raw_bl, tanh_limit=self.blr_tanh_limit)
            pose_bl = augmentor_ops.bone_length(pose_ba, blr)
        # DEVIATION(docs/reference.md §2.4) with rt_mode="bounded" (default): a placement inside the training
        # cameras' ranges instead of any rotation and a free translation.
        if self.use_rt and self.rt_mode == "bounded":
            learned_rotation = tf.tanh(self.r_trunk(features(2), training=training))
            learned_position = tf.tanh(self.t_trunk(features(3), training=training))
            if self.rt_anchor == "noise":
                unit_rotation = placement_lib.anchored(
                    noise[:, 2, :3], learned_rotation, self.rt_offset, wrap_first=True
                )
                unit_position = placement_lib.anchored(noise[:, 3, :3], learned_position, self.rt_offset)
            else:
                unit_rotation, unit_position = learned_rotation, learned_position
            rt = placement_lib.place(pose_bl, unit_rotation, unit_position, self.placement)
        elif self.use_rt:
            rt = augmentor_ops.rigid_transform(
                pose_bl,
                self.r_trunk(features(2), training=training),
                self.t_trunk(features(3), training=training),
                depth_guard=self.depth_guard,
                min_joint_depth=self.min_joint_depth,
            )
        else:
            rt = {
                "pose_rt": pose_bl,
                "rotation": zeros[:, :3],
                "rotation_matrix": tf.eye(3, batch_shape=[batch], dtype=self.compute_dtype),
                "translation": pose_bl[:, 0],
            }
        return {"pose_ba": pose_ba, "ba_diff": ba_diff, "pose_bl": pose_bl, "blr": blr, **rt}

    def get_config(self):
        config = super().get_config()
        config.update(
            use_ba=self.use_ba,
            use_bl=self.use_bl,
            use_rt=self.use_rt,
            hidden_units=self.hidden_units,
            num_blocks=self.num_blocks,
            noise_dim=self.noise_dim,
            blr_tanh_limit=self.blr_tanh_limit,
            depth_guard=self.depth_guard,
            min_joint_depth=self.min_joint_depth,
            seed=self.seed,
            synchronized_bn=self.synchronized_bn,
            rt_mode=self.rt_mode,
            rt_anchor=self.rt_anchor,
            rt_offset=self.rt_offset,
            placement=None if self.placement is None else self.placement.to_config(),
        )
        return config


def _validate_options(
    *,
    depth_guard: str,
    min_joint_depth: float,
    hidden_units: int,
    num_blocks: int,
    noise_dim: int,
    blr_tanh_limit: float,
) -> None:
    if depth_guard not in augmentor_ops.DEPTH_GUARDS:
        raise ValueError(f"Expected `depth_guard` in {augmentor_ops.DEPTH_GUARDS}; received {depth_guard!r}.")
    if not min_joint_depth > 0:
        raise ValueError(f"Expected `min_joint_depth` > 0 metres; received {min_joint_depth}.")
    for name, value in (("hidden_units", hidden_units), ("noise_dim", noise_dim)):
        if value < 1:
            raise ValueError(f"Expected `{name}` >= 1; received {value}.")
    if num_blocks < 0:
        raise ValueError(f"Expected `num_blocks` >= 0; received {num_blocks}.")
    if not 0 < blr_tanh_limit < 1:
        raise ValueError(f"Expected `blr_tanh_limit` in (0, 1); received {blr_tanh_limit}.")


def build_augmentor(**options) -> PoseAugmentor:
    """Builds a `PoseAugmentor` with the reference sizes (1,181,500 trainable parameters with all ops on).

    Args:
      **options: `PoseAugmentor` keyword arguments (use_ba, use_bl, use_rt, hidden_units, num_blocks, noise_dim,
        blr_tanh_limit, depth_guard, min_joint_depth, seed, synchronized_bn, rt_mode, placement, name).

    Returns:
      The built model (all variables created).

    Raises:
      ValueError: On an unknown option or an invalid value.
    """
    valid = (
        "use_ba",
        "use_bl",
        "use_rt",
        "hidden_units",
        "num_blocks",
        "noise_dim",
        "blr_tanh_limit",
        "depth_guard",
        "min_joint_depth",
        "seed",
        "synchronized_bn",
        "rt_mode",
        "placement",
        "rt_anchor",
        "rt_offset",
        "name",
    )
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Unknown augmentor option(s) {unknown}; valid options are {list(valid)}.")
    model = PoseAugmentor(**options)
    model.build((None, skeleton.NUM_JOINTS, 3))
    return model
