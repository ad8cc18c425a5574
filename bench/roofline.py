"""The two numbers every throughput in bench/ is divided by: this machine's matrix-product ceiling, measured in the
same run, and the matrix-product FLOPs of a network, counted from its traced graph.

Speeds of machines of one kind differ by up to 2×, so a rate alone says little; its share of the ceiling measured
beside it says how much of the hardware a step uses, and compares across machines.
"""

from __future__ import annotations

import re
import time

import tensorflow as tf


def ceiling_probe(dtype: tf.DType, *, size: int = 1024, repeats: int = 20):
    """A function that returns the GFLOP/s of one chain of `repeats` `tf.matmul` products of (size, size) `dtype`
    operands (2·size³ FLOPs each), traced once. Calling it beside each timed repetition gives the ceiling at that
    moment: on a shared virtual machine the speed drifts by tens of per cent within minutes."""
    a = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 1)), dtype)
    # Scaled so that a chain of products keeps its magnitude (no overflow to inf in bfloat16).
    b = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 2)) / size**0.5, dtype)

    @tf.function
    def products(a, b):
        for _ in range(repeats):
            a = tf.matmul(a, b)  # a chain: no product can be pruned or merged
        return a

    products(a, b).numpy()

    def probe() -> float:
        start = time.perf_counter()
        products(a, b).numpy()
        return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9

    return probe


def _einsum_flops(equation: str, shapes: list[list[int]]) -> int:
    """2 × the product of every index size of a two-operand einsum (each output element sums over the rest).
    An ellipsis stands for the leading axes an operand has beyond its named ones (broadcast: the larger size)."""
    inputs = equation.split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for letters, shape in zip(inputs, shapes):
        if "..." in letters:
            named = letters.replace("...", "")
            extra = len(shape) - len(named)
            letters = letters.replace("...", "ABCDEFGH"[8 - extra :] if extra else "")
        for letter, size in zip(letters, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    product = 1
    for size in sizes.values():
        product *= size
    return 2 * product


def forward_flops(model, input_shape: tuple[int, ...]) -> int:
    """Matrix-product FLOPs of one training-mode forward pass of `model` on one sample of `input_shape`.

    Counted on the graph traced at batch 1: MatMul and BatchMatMul (2·M·K·N, broadcast batch included) and Einsum
    (`_einsum_flops`). Element-wise work (BatchNorm, activations, dropout) is not counted: it is the overhead the
    ceiling's share exposes.
    """
    fn = tf.function(lambda x: model(x, training=True))
    graph = fn.get_concrete_function(tf.TensorSpec((1, *input_shape), tf.float32)).graph
    total = 0
    for op in graph.get_operations():
        if op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3"):
            a, b = (t.shape.as_list() for t in op.inputs[:2])
            if op.type == "MatMul":
                m, k = a[::-1] if op.get_attr("transpose_a") else a
                n = b[0] if op.get_attr("transpose_b") else b[1]
                total += 2 * m * k * n
            else:
                adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
                m, k = (a[-1], a[-2]) if adj_x else (a[-2], a[-1])
                n = b[-2] if adj_y else b[-1]
                batch = tf.broadcast_static_shape(tf.TensorShape(a[:-2]), tf.TensorShape(b[:-2])).num_elements()
                total += 2 * batch * m * k * n
        elif op.type == "Einsum":
            equation = op.get_attr("equation").decode()
            if len(op.inputs) != 2 or not re.fullmatch(r"[a-z.]+,[a-z.]+->[a-z.]*", equation):
                raise ValueError(f"Unsupported einsum {equation!r} in {model.name}.")
            total += _einsum_flops(equation, [t.shape.as_list() for t in op.inputs])
    return total
