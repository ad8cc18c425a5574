"""Tests for poseaug_tf.models.augmentor (PoseAugmentor, valid_projection_mask) and augmentor_ops.

Values are checked against tests/numpy_reference.py (float64, written from docs/reference.md §2) applied to the trunk
outputs, and against invariants (lengths, directions, distances, orthonormality).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import placement as placement_lib
from poseaug_tf.core import skeleton
from poseaug_tf.models import augmentor_ops
from poseaug_tf.models.augmentor import build_augmentor, valid_projection_mask
from tests import numpy_reference as ref
from tests.models.keras_contract import run_layer_contract

BATCH = 24
NOISE_DIM = 48
# docs/reference.md §2.3: bone k uses ratio BL_MAP[k]; §2.4: r = tanh(raw)·3.1415.
BL_MAP = (0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8)
ROT_LIMIT = 3.1415
LEFT_BONES, RIGHT_BONES = (3, 4, 5, 9, 10, 11), (0, 1, 2, 12, 13, 14)


# What the augmentor's call returns (docs/reference.md §3), written out here.
OUTPUT_KEYS = ("pose_ba", "ba_diff", "pose_bl", "blr", "pose_rt", "rotation", "rotation_matrix", "translation")


def template_poses(rng: np.random.Generator, num: int) -> np.ndarray:
    """(num, 16, 3) float32 poses: H36M template bone lengths, random directions, root near (0, 0, 5) m."""
    lengths = skeleton.BONE_LENGTH_TEMPLATES[rng.integers(0, 5, num)]
    directions = ref.unit_vectors(rng.standard_normal((num, 15, 3)))
    root = np.stack([rng.uniform(-1, 1, num), rng.uniform(-0.5, 0.5, num), rng.uniform(4.5, 5.5, num)], -1)
    return (ref.bones_to_pose(directions * lengths[..., None]) + root[:, None]).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(4)
    return build_augmentor(seed=7)


@pytest.fixture
def pose(rng):
    return template_poses(rng, BATCH)


@pytest.fixture
def noise(rng):
    return rng.standard_normal((BATCH, 4, NOISE_DIM)).astype(np.float32)


def trunk_outputs(model, pose, noise):
    """Raw outputs of the four trunks on the inputs of docs/reference.md §2.1 (built here, in NumPy)."""
    flat = (pose - pose[:, :1]).reshape(len(pose), -1)
    lengths = np.linalg.norm(ref.pose_to_bones(pose), axis=-1)
    inputs = {
        "ba": (flat, noise[:, 0]),
        "bl": (flat, lengths, noise[:, 1]),
        "r": (flat, noise[:, 2]),
        "t": (flat, noise[:, 3]),
    }
    return {
        name: getattr(model, f"{name}_trunk")(np.concatenate(parts, -1).astype(np.float32), training=True)
        .numpy()
        .astype(np.float64)
        for name, parts in inputs.items()
    }


def numpy_augment(pose, raw, *, guard_depth=None):
    """docs/reference.md §2.2–2.4 in float64 from the trunk outputs; guard_depth adds the min-depth shift."""
    bones, root = ref.pose_to_bones(pose), pose[:, :1].astype(np.float64)
    lengths = np.linalg.norm(bones, axis=-1, keepdims=True)
    unit = bones / lengths
    moved = ref.unit_vectors(unit + raw["ba"].reshape(-1, 15, 3))
    moved[:, [6, 7]] = unit[:, [6, 7]]
    pose_ba = ref.bones_to_pose(moved * lengths) + root
    mask = np.ones(9)
    mask[4] = 0.0
    blr = np.tanh(raw["bl"] * mask) * 0.2
    pose_bl = ref.bones_to_pose(ref.pose_to_bones(pose_ba) * (1 + blr[:, BL_MAP])[..., None]) + root
    rotation = np.tanh(raw["r"]) * ROT_LIMIT
    rel = pose_bl - pose_bl[:, :1]
    rotated = np.stack([rel[i] @ ref.rodrigues(rotation[i]).T for i in range(len(pose))])
    t = np.concatenate([raw["t"][:, :2], raw["t"][:, 2:] ** 2], -1)
    if guard_depth is not None:
        t[:, 2] = np.maximum(t[:, 2], guard_depth - rotated[..., 2].min(-1))
    return {
        "pose_ba": pose_ba,
        "ba_diff": 1 - np.sum(moved * unit, -1),
        "pose_bl": pose_bl,
        "blr": blr,
        "pose_rt": rotated + t[:, None],
        "rotation": rotation,
        "translation": t,
    }


def _with_weights(target, source):
    target.set_weights(source.get_weights())
    return target


def test_parameter_counts_match_pytorch():
    full = build_augmentor()
    trainable = lambda layer: sum(int(np.prod(v.shape)) for v in layer.trainable_variables)  # noqa: E731
    assert trainable(full) == 1_181_500
    assert [trainable(t) for t in (full.ba_trunk, full.bl_trunk, full.r_trunk, full.t_trunk)] == [
        302_125,
        296_713,
        291_331,
        291_331,
    ]
    assert trainable(build_augmentor(use_bl=False, use_rt=False)) == 302_125
    assert trainable(build_augmentor(use_ba=False, use_rt=False)) == 296_713
    only_rt = build_augmentor(use_ba=False, use_bl=False)
    assert trainable(only_rt) == 582_662 and only_rt.ba_trunk is None and only_rt.bl_trunk is None


@pytest.mark.parametrize("depth_guard", ["min_depth", "reference"])
def test_outputs_match_numpy_reference(model, pose, noise, depth_guard):
    model = _with_weights(build_augmentor(depth_guard=depth_guard), model)
    out = model(pose, noise=noise)
    expected = numpy_augment(
        pose, trunk_outputs(model, pose, noise), guard_depth=1.0 if depth_guard == "min_depth" else None
    )
    shapes = {
        "pose_ba": (16, 3),
        "ba_diff": (15,),
        "pose_bl": (16, 3),
        "blr": (9,),
        "pose_rt": (16, 3),
        "rotation": (3,),
        "rotation_matrix": (3, 3),
        "translation": (3,),
    }
    assert sorted(out) == sorted(OUTPUT_KEYS)
    for key, shape in shapes.items():
        assert out[key].shape == (BATCH,) + shape and out[key].dtype == tf.float32, key
    for key, value in expected.items():
        np.testing.assert_allclose(out[key].numpy(), value, atol=2e-5, rtol=0, err_msg=key)
    rotations = np.stack([ref.rodrigues(r) for r in expected["rotation"]])
    np.testing.assert_allclose(out["rotation_matrix"].numpy(), rotations, atol=1e-5)


def test_bone_angle_keeps_lengths_and_spine(model, pose, noise):
    out = model(pose, noise=noise)
    src, ba = ref.pose_to_bones(pose), ref.pose_to_bones(out["pose_ba"].numpy())
    np.testing.assert_allclose(np.linalg.norm(ba, axis=-1), np.linalg.norm(src, axis=-1), atol=1e-5)
    np.testing.assert_allclose(ba[:, [6, 7]], src[:, [6, 7]], atol=1e-5)
    np.testing.assert_array_equal(out["ba_diff"].numpy()[:, [6, 7]], 0.0)
    np.testing.assert_allclose(out["pose_ba"].numpy()[:, 0], pose[:, 0], atol=1e-6)
    cosine = np.sum(ref.unit_vectors(ba) * ref.unit_vectors(src), -1)
    np.testing.assert_allclose(out["ba_diff"].numpy(), 1 - cosine, atol=1e-5)
    assert np.all(out["ba_diff"].numpy()[:, 8] > 1e-3)  # the other bones really move


def test_bone_angle_is_finite_when_residual_cancels_the_direction(pose):
    bones = ref.pose_to_bones(pose)
    gamma = -bones / np.linalg.norm(bones, axis=-1, keepdims=True)  # û + γ = 0 on every bone
    gamma = tf.constant(gamma, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(gamma)
        pose_ba, ba_diff = augmentor_ops.bone_angle(tf.constant(pose), gamma)
        loss = tf.reduce_sum(pose_ba) + tf.reduce_sum(ba_diff)
    assert np.all(np.isfinite(pose_ba.numpy())) and np.all(np.isfinite(tape.gradient(loss, gamma).numpy()))


def test_bone_length_shares_left_right_and_keeps_directions(model, pose, noise):
    out = model(pose, noise=noise)
    blr = out["blr"].numpy()
    ba, bl = ref.pose_to_bones(out["pose_ba"].numpy()), ref.pose_to_bones(out["pose_bl"].numpy())
    ratio = np.linalg.norm(bl, axis=-1) / np.linalg.norm(ba, axis=-1)
    np.testing.assert_allclose(ratio[:, LEFT_BONES], ratio[:, RIGHT_BONES], atol=1e-5)
    np.testing.assert_allclose(ratio, 1 + blr[:, BL_MAP], atol=1e-5)
    np.testing.assert_allclose(ratio[:, 7], 1.0, atol=1e-6)
    assert np.all(np.abs(blr) < 0.2) and np.all(blr[:, 4] == 0) and np.abs(blr).max() > 0.05
    np.testing.assert_allclose(ref.unit_vectors(bl), ref.unit_vectors(ba), atol=1e-5)
    bounded = augmentor_ops.bone_length_ratios(tf.constant(np.full((2, 9), 50.0, np.float32))).numpy()
    np.testing.assert_allclose(np.delete(bounded, 4, -1), 0.2, rtol=1e-6)


def test_rigid_transform_is_rigid(model, pose, noise):
    out = model(pose, noise=noise)
    bl, rt = out["pose_bl"].numpy(), out["pose_rt"].numpy()
    distances = lambda x: np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(distances(rt), distances(bl), atol=2e-5)
    rotation = out["rotation_matrix"].numpy().astype(np.float64)
    np.testing.assert_allclose(
        rotation @ rotation.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rotation.shape), atol=1e-6
    )
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0, atol=1e-6)
    np.testing.assert_array_equal(rt[:, 0], out["translation"].numpy())
    assert np.all(np.abs(out["rotation"].numpy()) < ROT_LIMIT)


def _zero_depth_output(model):
    """Forces raw t_z = 0 (reference t_z = 0: the root sits on the camera plane)."""
    kernel, bias = model.t_trunk.dense_out.kernel, model.t_trunk.dense_out.bias
    kernel.assign(tf.concat([kernel[:, :2], tf.zeros_like(kernel[:, 2:])], -1))
    bias.assign(tf.concat([bias[:2], tf.zeros_like(bias[2:])], -1))


@pytest.mark.parametrize("min_joint_depth", [1.0, 2.5])
def test_depth_guard_keeps_joints_in_front(pose, noise, min_joint_depth):
    guarded = build_augmentor(min_joint_depth=min_joint_depth, hidden_units=40)
    _zero_depth_output(guarded)
    reference = _with_weights(build_augmentor(depth_guard="reference", hidden_units=40), guarded)
    z_guard = guarded(pose, noise=noise)["pose_rt"].numpy()[..., 2]
    out_ref = reference(pose, noise=noise)
    np.testing.assert_array_equal(out_ref["translation"].numpy()[:, 2], 0.0)  # t_z = raw² = 0
    assert np.any(out_ref["pose_rt"].numpy()[..., 2] < 0)  # reference: joints behind the camera
    assert np.all(z_guard >= min_joint_depth - 1e-5)
    np.testing.assert_allclose(z_guard.min(-1), min_joint_depth, atol=1e-5)  # lifted just enough


def test_depth_guard_is_inactive_for_far_poses_and_keeps_reference_gradients(pose):
    raw_rotation = tf.constant(np.zeros((BATCH, 3), np.float32))
    raw_z = np.where(np.arange(BATCH) % 2 == 0, 2.2, 0.3)  # t_z = 4.84 m (clear) or 0.09 m (guard active)
    raw_translation = tf.constant(np.stack([np.full(BATCH, 0.3), np.full(BATCH, -0.2), raw_z], -1), tf.float32)
    results = {}
    for guard in ("min_depth", "reference"):
        with tf.GradientTape() as tape:
            tape.watch(raw_translation)
            out = augmentor_ops.rigid_transform(tf.constant(pose), raw_rotation, raw_translation, depth_guard=guard)
            loss = tf.reduce_sum(out["pose_rt"] ** 2)
        results[guard] = out["pose_rt"].numpy(), tape.gradient(loss, raw_translation).numpy()
    (guarded, grad_guarded), (plain, grad_plain) = results["min_depth"], results["reference"]
    np.testing.assert_array_equal(guarded[::2], plain[::2])
    np.testing.assert_allclose(plain[:, 0, 2], raw_z**2, rtol=1e-6)
    np.testing.assert_allclose(guarded[1::2, :, 2].min(-1), 1.0, atol=1e-5)
    # Straight-through: ∂L/∂raw_z = 2·raw_z·Σ_j ∂L/∂z_j evaluated at the guarded pose.
    np.testing.assert_allclose(grad_guarded[:, 2], 2 * raw_z * 2 * guarded[..., 2].sum(-1), rtol=1e-5)
    np.testing.assert_allclose(grad_guarded[::2], grad_plain[::2], rtol=1e-6)


def _variable_grads(model, pose, noise, keys):
    with tf.GradientTape() as tape:
        out = model(pose, noise=noise)
        loss = sum(tf.reduce_sum(tf.sin(3.0 * out[k])) for k in keys)
    return dict(zip([v.path for v in model.trainable_variables], tape.gradient(loss, model.trainable_variables)))


def test_gradients_reach_every_variable_and_are_finite(pose, noise):
    model = build_augmentor(hidden_units=56)
    grads = _variable_grads(model, pose, noise, OUTPUT_KEYS)
    assert len(grads) == 4 * 22  # per trunk: 6 Dense (kernel, bias) + 5 BN (gamma, beta)
    for path, grad in grads.items():
        assert grad is not None and np.all(np.isfinite(grad)), path
        assert np.abs(grad.numpy()).max() > 0, path
    # docs/reference.md §2.8 routing: pose_ba depends on BA only, blr on BL only, rotation on R only.
    for key, trunk in (("pose_ba", "ba_trunk"), ("blr", "bl_trunk"), ("rotation", "r_trunk")):
        reached = {p.split("/")[1] for p, g in _variable_grads(model, pose, noise, [key]).items() if g is not None}
        assert reached == {trunk}, key


def test_gradients_are_finite_at_zero_rotation(pose, noise):
    model = build_augmentor(hidden_units=56)
    out_layer = model.r_trunk.dense_out
    out_layer.kernel.assign(tf.zeros_like(out_layer.kernel))
    out_layer.bias.assign(tf.zeros_like(out_layer.bias))
    out = model(pose, noise=noise)
    np.testing.assert_array_equal(out["rotation"].numpy(), 0.0)
    np.testing.assert_array_equal(out["rotation_matrix"].numpy(), np.broadcast_to(np.eye(3), (BATCH, 3, 3)))
    grads = _variable_grads(model, pose, noise, OUTPUT_KEYS)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads.values())
    assert np.abs(grads[out_layer.kernel.path].numpy()).max() > 0


def test_batch_norm_training_and_inference(pose, noise):
    model = build_augmentor(use_bl=False, use_rt=False, hidden_units=40)
    bn = model.ba_trunk.bn_in
    flat = (pose - pose[:, :1]).reshape(BATCH, -1)
    hidden = model.ba_trunk.dense_in(np.concatenate([flat, noise[:, 0]], -1)).numpy()
    inference = model(pose, noise=noise, training=False)["pose_ba"].numpy()
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0.0)  # inference leaves the statistics alone
    changed = pose.copy()
    changed[1:] = template_poses(np.random.default_rng(1), BATCH - 1)
    np.testing.assert_array_equal(model(changed, noise=noise, training=False)["pose_ba"].numpy()[0], inference[0])
    training = model(pose, noise=noise)["pose_ba"].numpy()  # default: training=True (batch statistics)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * hidden.mean(0), rtol=1e-4, atol=1e-6)
    assert np.abs(training - inference).max() > 1e-3
    assert np.abs(model(changed, noise=noise)["pose_ba"].numpy()[0] - training[0]).max() > 1e-4


def test_noise_controls_randomness(model, pose, noise):
    first, second = model(pose, noise=noise), model(pose, noise=noise)
    for key in OUTPUT_KEYS:
        np.testing.assert_array_equal(first[key].numpy(), second[key].numpy())
    drawn = [model(pose)["pose_rt"].numpy() for _ in range(2)]
    assert np.abs(drawn[0] - drawn[1]).min(axis=(1, 2)).max() > 1e-3
    bumped = noise.copy()
    # New BA noise only: BL ratios and the rotation must not move. (A constant shift would not do: the
    # training-mode BatchNorm after the first Dense removes it.)
    bumped[:, 0] = np.random.default_rng(2).standard_normal(bumped[:, 0].shape)
    third = model(pose, noise=bumped)
    assert np.abs(third["ba_diff"].numpy() - first["ba_diff"].numpy()).max() > 1e-4
    for key in ("blr", "rotation"):
        np.testing.assert_array_equal(third[key].numpy(), first[key].numpy())


def test_disabled_operations_are_identity(pose, noise):
    model = build_augmentor(use_ba=False, use_bl=False, use_rt=False)
    assert not model.trainable_variables
    out = model(pose, noise=noise)
    for key in ("pose_ba", "pose_bl", "pose_rt"):
        np.testing.assert_array_equal(out[key].numpy(), pose)
    for key in ("ba_diff", "blr", "rotation"):
        np.testing.assert_array_equal(out[key].numpy(), 0.0)
    np.testing.assert_array_equal(out["rotation_matrix"].numpy(), np.broadcast_to(np.eye(3), (BATCH, 3, 3)))
    np.testing.assert_array_equal(out["translation"].numpy(), pose[:, 0])


def test_serialisation_round_trips(pose, noise):
    model = build_augmentor(hidden_units=40, noise_dim=24, depth_guard="reference", min_joint_depth=0.5, seed=3)
    run_layer_contract(model, pose, call_kwargs={"noise": noise[..., :24]})
    run_layer_contract(build_augmentor(use_bl=False, hidden_units=24), pose, call_kwargs={"noise": noise})


def test_graph_equals_eager(model, pose, noise):
    step = tf.function(lambda p, n: model(p, noise=n))
    graph = step(tf.constant(pose), tf.constant(noise))
    step(tf.constant(pose[::-1]), tf.constant(noise))
    assert step.experimental_get_tracing_count() == 1
    eager = model(pose, noise=noise)
    for key in OUTPUT_KEYS:
        np.testing.assert_allclose(graph[key].numpy(), eager[key].numpy(), atol=1e-5, rtol=1e-5, err_msg=key)
    drawing = tf.function(lambda p: model(p)["pose_rt"])
    assert np.abs(drawing(tf.constant(pose)).numpy() - drawing(tf.constant(pose)).numpy()).max() > 1e-3


def test_valid_projection_mask_both_modes():
    pose_2d = np.zeros((5, 16, 2), np.float32)
    pose_2d[1, 3, 0] = 1.2  # out right
    pose_2d[2, 5, 1] = -1.3  # out top: kept by the reference's one-sided test
    pose_2d[3, 7, 0] = 1.0  # on the border: valid
    pose_2d[4, 2, 1] = np.nan
    np.testing.assert_array_equal(valid_projection_mask(pose_2d).numpy(), [True, False, False, True, False])
    np.testing.assert_array_equal(
        valid_projection_mask(pose_2d, two_sided=False).numpy(), [True, False, True, True, False]
    )
    np.testing.assert_array_equal(valid_projection_mask(pose_2d, bound=1.25).numpy(), [True, True, False, True, False])


def test_bad_inputs_raise(model, pose, noise):
    with pytest.raises(ValueError, match="pose_3d_cam"):
        model(pose[:, :15])
    with pytest.raises(ValueError, match="noise"):
        model(pose, noise=noise[:, :3])
    with pytest.raises(ValueError, match="depth_guard"):
        build_augmentor(depth_guard="clamp")
    with pytest.raises(ValueError, match="min_joint_depth"):
        build_augmentor(min_joint_depth=0.0)
    with pytest.raises(ValueError, match="use_kcs"):
        build_augmentor(use_kcs=True)
    with pytest.raises(ValueError, match="pose_2d"):
        valid_projection_mask(np.zeros((2, 16, 3)))


def test_bounded_rt_places_within_the_ranges_with_the_trunk_outputs(pose, noise):
    bounds = placement_lib.Placement(
        up_axis=(0.0, -1.0, 0.0),
        depth=(4.0, 6.0),
        image_x=(-0.2, 0.2),
        image_y=(-0.1, 0.15),
        pitch_limit=math.radians(20),
        roll_limit=math.radians(5),
    )
    keras.utils.set_random_seed(5)
    model = build_augmentor(rt_mode="bounded", rt_anchor="none", placement=bounds.to_config(), seed=1)
    out = model(pose, noise=noise)
    raw = trunk_outputs(model, pose, noise)
    yaw, pitch, roll = (np.tanh(raw["r"]) * [math.pi, math.radians(20), math.radians(5)]).T
    np.testing.assert_allclose(out["rotation"].numpy(), np.stack([yaw, pitch, roll], -1), atol=1e-5)
    u, v, d = np.tanh(raw["t"]).T
    depth = 5.0 + d
    root = np.stack([(0.2 * u) * depth, (0.025 + 0.125 * v) * depth, depth], -1)
    np.testing.assert_allclose(out["translation"].numpy(), root, atol=1e-5)
    np.testing.assert_allclose(out["pose_rt"].numpy()[:, 0], root, atol=1e-5)
    # Rigid about the root; BA and BL are unchanged by the mode.
    rel = out["pose_bl"].numpy() - out["pose_bl"].numpy()[:, :1]
    np.testing.assert_allclose(
        out["pose_rt"].numpy() - root[:, None],
        np.einsum("bij,bkj->bki", out["rotation_matrix"].numpy(), rel),
        atol=1e-5,
    )
    assert model.get_config()["placement"] == bounds.to_config()
    run_layer_contract(model, pose, call_kwargs={"noise": noise})
    with pytest.raises(ValueError, match="needs a `placement`"):
        build_augmentor(rt_mode="bounded")
    with pytest.raises(ValueError, match="rt_mode"):
        build_augmentor(rt_mode="free")


def test_anchored_bounded_rt_starts_from_the_branch_noise(pose, noise):
    bounds = placement_lib.Placement(
        up_axis=(0.0, -1.0, 0.0), depth=(4.0, 6.0), image_x=(-0.2, 0.2), image_y=(-0.1, 0.1)
    )
    model = build_augmentor(rt_mode="bounded", rt_offset=0.25, placement=bounds.to_config(), seed=1)
    out = model(pose, noise=noise)
    raw = trunk_outputs(model, pose, noise)
    erf = np.vectorize(math.erf)
    anchor_rot, anchor_pos = erf(noise[:, 2, :3] / math.sqrt(2)), erf(noise[:, 3, :3] / math.sqrt(2))
    unit_rot = anchor_rot + 0.25 * np.tanh(raw["r"])
    unit_rot[:, 0] = (unit_rot[:, 0] + 1) % 2 - 1
    unit_rot[:, 1:] = np.clip(unit_rot[:, 1:], -1, 1)
    np.testing.assert_allclose(
        out["rotation"].numpy(), unit_rot * [math.pi, math.radians(30), math.radians(10)], atol=1e-5
    )
    depth = 5.0 + np.clip(anchor_pos[:, 2] + 0.25 * np.tanh(raw["t"][:, 2]), -1, 1)
    np.testing.assert_allclose(out["translation"].numpy()[:, 2], depth, atol=1e-5)
    assert model.get_config()["rt_anchor"] == "noise" and model.get_config()["rt_offset"] == 0.25
