#!/usr/bin/env python3
"""Generates the ONNX fixtures the wes-ispc tests use, with real tools and no download.

    pip install numpy scikit-learn skl2onnx onnx onnxruntime
    python3 wes-ispc/scripts/make_onnx_fixtures.py

Writes into wes-ispc/tests/fixtures/onnx/:
  digits_mlp.onnx       scikit-learn MLPClassifier (64-32-10, ReLU) trained on the bundled
                        digits data set, exported by skl2onnx with ZipMap disabled
  digits_reg.onnx       scikit-learn MLPRegressor (64-16-1) predicting the digit's value
  gemm_relu.onnx        hand-built Gemm(transB) -> Relu -> Gemm graph
  matmul_add.onnx       hand-built MatMul -> Add -> Relu -> MatMul -> Add graph
  unsupported_op.onnx   a graph with an operator the executor does not run (Conv)
  <name>.json           inputs and the outputs onnxruntime computes for them
The files are small and committed, so the tests need no Python.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier, MLPRegressor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx")
SAMPLES = 64  # test-set rows written per model


def run(path, feeds):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(None, feeds)


def write_cases(name, input_name, xs, path):
    cases = []
    for x in xs:
        names, outs = run(path, {input_name: x[None, :].astype(np.float32)})
        cases.append({
            "input": [float(v) for v in x],
            "outputs": {n: np.asarray(o).astype(np.float64).ravel().tolist() for n, o in zip(names, outs)},
        })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"model": name + ".onnx", "input_shape": [1, int(xs.shape[1])], "cases": cases}, f)


def save(model, name):
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(model, path)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.RandomState(7)
    order = rng.permutation(len(x))
    train, test = order[:1500], order[1500:]

    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=7)
    clf.fit(x[train], y[train])
    print("classifier test accuracy", clf.score(x[test], y[test]))
    m = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    path = save(m, "digits_mlp")
    write_cases("digits_mlp", m.graph.input[0].name, x[test][:SAMPLES], path)
    # The whole held-out set for the accuracy report (inputs and labels only).
    with open(os.path.join(OUT, "digits_test.json"), "w") as f:
        json.dump({"inputs": x[test].tolist(), "labels": y[test].tolist()}, f)

    reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=600, random_state=7)
    reg.fit(x[train], y[train].astype(np.float32))
    m = to_onnx(reg, x[:1], target_opset=17)
    path = save(m, "digits_reg")
    write_cases("digits_reg", m.graph.input[0].name, x[test][:SAMPLES], path)

    r = np.random.RandomState(11)
    # Gemm with transB, bias, ReLU, second Gemm.
    w1 = r.randn(8, 4).astype(np.float32)  # (out, in): transB = 1
    b1 = r.randn(8).astype(np.float32)
    w2 = r.randn(8, 3).astype(np.float32)  # (in, out)
    b2 = r.randn(3).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, alpha=1.0, beta=1.0),
            helper.make_node("Relu", ["h"], ["hr"]),
            helper.make_node("Gemm", ["hr", "w2", "b2"], ["y"]),
        ],
        "gemm_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = save(m, "gemm_relu")
    write_cases("gemm_relu", "x", r.randn(16, 4).astype(np.float32), path)

    w1 = r.randn(6, 10).astype(np.float32)
    b1 = r.randn(10).astype(np.float32)
    w2 = r.randn(10, 2).astype(np.float32)
    b2 = r.randn(2).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["a"]),
            helper.make_node("Add", ["a", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["hr"]),
            helper.make_node("MatMul", ["hr", "w2"], ["c"]),
            helper.make_node("Add", ["c", "b2"], ["y"]),
        ],
        "matmul_add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = save(m, "matmul_add")
    write_cases("matmul_add", "x", r.randn(16, 6).astype(np.float32), path)

    k = r.randn(2, 1, 3, 3).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "k"], ["y"])],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])],
        [numpy_helper.from_array(k, "k")],
    )
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "unsupported_op")


if __name__ == "__main__":
    main()
