#!/usr/bin/env python3
"""Generates the ONNX fixtures the wes-ispc tests use, with real tools and no download.

    pip install numpy scikit-learn skl2onnx onnx onnxruntime
    python3 wes-ispc/scripts/make_onnx_fixtures.py

(PyTorch does not install here from PyPI without its CUDA wheels, so the CNNs are trained
with numpy and written with onnx.helper in the layout torch.onnx.export gives: NCHW,
Conv weights [out, in/group, kh, kw], Flatten, Gemm with transB = 1, logits out.)

Writes into wes-ispc/tests/fixtures/onnx/:
  digits_mlp.onnx       scikit-learn MLPClassifier (64-32-10, ReLU) trained on the bundled
                        digits data set, exported by skl2onnx with ZipMap disabled
  digits_reg.onnx       scikit-learn MLPRegressor (64-16-1) predicting the digit's value
  gemm_relu.onnx        hand-built Gemm(transB) -> Relu -> Gemm graph
  matmul_add.onnx       hand-built MatMul -> Add -> Relu -> MatMul -> Add graph
  digits_cnn.onnx       Conv(1->8, 3x3, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm,
                        trained with numpy on the digits (8x8 images, NCHW [1, 1, 8, 8])
  digits_cnn_bn.onnx    Conv -> BatchNormalization (unfolded) -> Relu -> AveragePool 2x2 ->
                        Flatten -> Gemm, trained with numpy (BN statistics put back in)
  conv_ops.onnx         hand-built: strided, padded, dilated and depthwise Conv, MaxPool and
                        AveragePool with pads, Concat, GlobalAveragePool, Squeeze, Transpose,
                        Unsqueeze, Reshape, Gather, Gemm
  forest_cancer.onnx    RandomForestClassifier (breast-cancer data), skl2onnx, ZipMap off
  gboost_cancer.onnx    GradientBoostingClassifier (breast-cancer data, two classes: one
                        margin, logistic), skl2onnx
  gboost_iris.onnx      GradientBoostingClassifier (iris, 3 classes, softmax), skl2onnx
  gboost_diabetes.onnx  GradientBoostingRegressor (diabetes), skl2onnx
  lightgbm_cancer.onnx  LightGBM classifier (breast-cancer data) exported by onnxmltools
                        (written when `pip install lightgbm onnxmltools` has been done)
  unsupported_op.onnx   a graph with an operator the executor does not run (Einsum)
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


def write_nchw_cases(name, input_name, xs, path, shape):
    """Like write_cases, for an image input of per-row `shape` (rows stored flat, NCHW)."""
    cases = []
    for x in xs:
        names, outs = run(path, {input_name: x.reshape([1] + shape).astype(np.float32)})
        cases.append({
            "input": [float(v) for v in x.ravel()],
            "outputs": {n: np.asarray(o).astype(np.float64).ravel().tolist() for n, o in zip(names, outs)},
        })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"model": name + ".onnx", "input_shape": [1] + shape, "cases": cases}, f)


def train_cnn(x, y, channels, pool, epochs=60, seed=3):
    """A one-convolution CNN on 8x8 images, trained with Adam in numpy:
    conv 3x3 pad 1 (1 -> channels) -> relu -> 2x2 pool (max or avg) -> dense -> softmax."""
    rng = np.random.RandomState(seed)
    n = len(x)
    img = x.reshape(n, 8, 8)
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)))
    # Patches [n, 64 positions, 9 taps].
    patches = np.stack([padded[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)], -1).reshape(n, 64, 9)
    k = rng.randn(9, channels) * 0.3
    kb = np.zeros(channels)
    feat = channels * 16
    w = rng.randn(feat, 10) * (1 / np.sqrt(feat))
    b = np.zeros(10)
    params = [k, kb, w, b]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y]
    step = 0
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(n), n // 32):
            p = patches[batch]
            z = p @ k + kb                                   # [B, 64, C], position = 8i + j
            a = np.maximum(z, 0).reshape(-1, 4, 2, 4, 2, channels)
            if pool == "max":
                pooled = a.max(axis=(2, 4))                  # [B, 4, 4, C]
            else:
                pooled = a.mean(axis=(2, 4))
            # Flatten in NCHW order: channel major.
            f = pooled.transpose(0, 3, 1, 2).reshape(len(batch), feat)
            logits = f @ w + b
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            g = (prob - onehot[batch]) / len(batch)
            gw, gb = f.T @ g, g.sum(0)
            gf = (g @ w.T).reshape(len(batch), channels, 4, 4).transpose(0, 2, 3, 1)
            if pool == "max":
                mask = a == pooled[:, :, None, :, None, :]
                ga = mask * gf[:, :, None, :, None, :]
            else:
                ga = np.broadcast_to(gf[:, :, None, :, None, :] / 4, a.shape)
            gz = ga.reshape(len(batch), 64, channels) * (z > 0)
            gk = np.einsum("bpt,bpc->tc", p, gz)
            gkb = gz.sum((0, 1))
            step += 1
            for i, gp in enumerate([gk, gkb, gw, gb]):
                m[i] = 0.9 * m[i] + 0.1 * gp
                v[i] = 0.999 * v[i] + 0.001 * gp * gp
                params[i] -= 0.01 * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
    k, kb, w, b = params
    # ONNX layouts: conv weight [C, 1, 3, 3]; Gemm B [10, feat] with transB = 1.
    return (k.T.reshape(channels, 1, 3, 3).astype(np.float32), kb.astype(np.float32),
            w.T.copy().astype(np.float32), b.astype(np.float32))


def cnn_graph(name, nodes, inits, out_dims):
    g = helper.make_graph(
        nodes, name,
        # torch.onnx.export(..., dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"] + out_dims[1:])],
        [numpy_helper.from_array(a, n) for n, a in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def accuracy(path, xs, ys):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": xs.reshape(-1, 1, 8, 8).astype(np.float32)})[0]
    return float((out.argmax(1) == ys).mean())


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

    k = r.randn(6, 2).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Einsum", ["x", "k"], ["y"], equation="bi,ij->bj")],
        "einsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(k, "k")],
    )
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "unsupported_op")

    cnns(x, y, train, test)
    conv_ops(r)
    trees()


def cnns(x, y, train, test):
    # The digits CNN, as torch.onnx.export writes nn.Sequential(Conv2d(1, 8, 3, padding=1),
    # ReLU(), MaxPool2d(2), Flatten(), Linear(128, 10)).
    k, kb, w, b = train_cnn(x[train], y[train], 8, "max")
    m = cnn_graph("digits_cnn", [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("Relu", ["/conv/Conv_output_0"], ["/relu/Relu_output_0"]),
        helper.make_node("MaxPool", ["/relu/Relu_output_0"], ["/pool/MaxPool_output_0"],
                         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0),
        helper.make_node("Flatten", ["/pool/MaxPool_output_0"], ["/flatten/Flatten_output_0"], axis=1),
        helper.make_node("Gemm", ["/flatten/Flatten_output_0", "fc.weight", "fc.bias"], ["logits"],
                         alpha=1.0, beta=1.0, transB=1),
    ], {"conv.weight": k, "conv.bias": kb, "fc.weight": w, "fc.bias": b}, [1, 10])
    path = save(m, "digits_cnn")
    print("digits_cnn test accuracy", accuracy(path, x[test], y[test]))
    write_nchw_cases("digits_cnn", "input", x[test][:SAMPLES], path, [1, 8, 8])

    # The same shape with average pooling and a BatchNormalization the exporter did not fold:
    # the trained convolution is split into conv' and BN with made-up statistics, so that
    # BN(conv'(x)) = conv(x).
    k, kb, w, b = train_cnn(x[train], y[train], 6, "avg", seed=5)
    r = np.random.RandomState(13)
    c = k.shape[0]
    gamma = (r.rand(c) + 0.5).astype(np.float32)
    beta = r.randn(c).astype(np.float32) * 0.1
    mean = r.randn(c).astype(np.float32) * 0.2
    var = (r.rand(c) + 0.5).astype(np.float32)
    eps = 1e-5
    sd = np.sqrt(var + eps)
    k2 = (k * (sd / gamma)[:, None, None, None]).astype(np.float32)
    kb2 = ((kb - beta) * sd / gamma + mean).astype(np.float32)
    m = cnn_graph("digits_cnn_bn", [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["n"], epsilon=eps, momentum=0.9),
        helper.make_node("Relu", ["n"], ["a"]),
        helper.make_node("AveragePool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ], {"conv.weight": k2, "conv.bias": kb2, "bn.weight": gamma, "bn.bias": beta,
        "bn.running_mean": mean, "bn.running_var": var, "fc.weight": w, "fc.bias": b}, [1, 10])
    path = save(m, "digits_cnn_bn")
    print("digits_cnn_bn test accuracy", accuracy(path, x[test], y[test]))
    write_nchw_cases("digits_cnn_bn", "input", x[test][:SAMPLES], path, [1, 8, 8])


def conv_ops(r):
    """Every convolution option and reshaping op exporters emit, with random weights."""
    f32 = lambda *s: r.randn(*s).astype(np.float32)
    inits = {
        "k1": f32(4, 2, 3, 3) * 0.5, "b1": f32(4),
        "k2": f32(4, 1, 3, 3) * 0.5, "b2": f32(4),
        "k3": f32(3, 4, 1, 2) * 0.5,
        "bn_s": f32(3) * 0.3 + 1, "bn_b": f32(3), "bn_m": f32(3) * 0.1, "bn_v": np.abs(f32(3)) + 0.5,
        "axes23": np.array([2, 3], dtype=np.int64),
        "axes1": np.array([1], dtype=np.int64),
        "shape": np.array([-1, 80], dtype=np.int64),
        "pick": np.array([0, 5, 7, 9, 12, 40, 79, 3], dtype=np.int64),
        "w": f32(5, 8), "b": f32(5),
    }
    nodes = [
        # [1,2,9,9] -> strided, asymmetrically padded conv -> [1,4,5,5]
        helper.make_node("Conv", ["x", "k1", "b1"], ["a"], kernel_shape=[3, 3], pads=[1, 2, 1, 0], strides=[2, 2]),
        helper.make_node("Relu", ["a"], ["ar"]),
        # depthwise, dilated -> [1,4,5,5]
        helper.make_node("Conv", ["ar", "k2", "b2"], ["d"], group=4, dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("MaxPool", ["d"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["d"], ["ap"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1],
                         count_include_pad=0),
        helper.make_node("Concat", ["mp", "ap"], ["cat"], axis=1),                 # [1,8,3,3]
        helper.make_node("GlobalAveragePool", ["cat"], ["gap"]),                  # [1,8,1,1]
        helper.make_node("Squeeze", ["gap", "axes23"], ["sq"]),                   # [1,8]
        helper.make_node("Transpose", ["cat"], ["tr"], perm=[0, 2, 3, 1]),        # [1,3,3,8]
        helper.make_node("Flatten", ["tr"], ["fl"], axis=1),                      # [1,72]
        helper.make_node("Concat", ["sq", "fl"], ["all"], axis=1),                # [1,80]
        helper.make_node("Unsqueeze", ["all", "axes1"], ["un"]),                  # [1,1,80]
        helper.make_node("Reshape", ["un", "shape"], ["re"]),                     # [1,80]
        helper.make_node("Gather", ["re", "pick"], ["g"], axis=1),                # [1,8]
        helper.make_node("Gemm", ["g", "w", "b"], ["y"], transB=1),               # [1,5]
        # A rectangular kernel and a BatchNormalization on a convolution's output.
        helper.make_node("Conv", ["d", "k3"], ["c3"], kernel_shape=[1, 2], strides=[1, 2]),  # [1,3,5,2]
        helper.make_node("BatchNormalization", ["c3", "bn_s", "bn_b", "bn_m", "bn_v"], ["z"]),
    ]
    g = helper.make_graph(
        nodes, "conv_ops",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3, 5, 2])],
        [numpy_helper.from_array(a, n) for n, a in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = save(m, "conv_ops")
    write_nchw_cases("conv_ops", "x", r.randn(16, 2 * 81).astype(np.float32), path, [2, 9, 9])


def trees():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier

    ml = {"": 17, "ai.onnx.ml": 3}
    for name, load, est, classifier in [
        ("forest_cancer", load_breast_cancer, RandomForestClassifier(n_estimators=20, max_depth=6, random_state=7), True),
        ("gboost_cancer", load_breast_cancer, GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=7), True),
        ("gboost_iris", load_iris, GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=7), True),
        ("gboost_diabetes", load_diabetes, GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=7), False),
    ]:
        xs, ys = load(return_X_y=True)
        xs = xs.astype(np.float32)
        order = np.random.RandomState(7).permutation(len(xs))
        cut = int(len(xs) * 0.75)
        tr, te = order[:cut], order[cut:]
        est.fit(xs[tr], ys[tr])
        print(name, "test score", est.score(xs[te], ys[te]))
        opts = {id(est): {"zipmap": False}} if classifier else None
        m = to_onnx(est, xs[:1], options=opts, target_opset=ml)
        path = save(m, name)
        write_cases(name, m.graph.input[0].name, xs[te][:SAMPLES], path)
    lightgbm()


def lightgbm():
    """A LightGBM model as onnxmltools exports it (its converter writes ai.onnx opset <= 15)."""
    try:
        import lightgbm as lgb
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        print("lightgbm or onnxmltools not installed: lightgbm_cancer.onnx not written")
        return
    from sklearn.datasets import load_breast_cancer

    xs, ys = load_breast_cancer(return_X_y=True)
    xs = xs.astype(np.float32)
    order = np.random.RandomState(7).permutation(len(xs))
    cut = int(len(xs) * 0.75)
    tr, te = order[:cut], order[cut:]
    est = lgb.LGBMClassifier(n_estimators=20, num_leaves=15, verbose=-1, random_state=7)
    est.fit(xs[tr], ys[tr])
    print("lightgbm_cancer test score", est.score(xs[te], ys[te]))
    m = convert_lightgbm(est, initial_types=[("input", FloatTensorType([None, 30]))],
                         zipmap=False, target_opset=15)
    path = save(m, "lightgbm_cancer")
    write_cases("lightgbm_cancer", "input", xs[te][:SAMPLES], path)


if __name__ == "__main__":
    main()
