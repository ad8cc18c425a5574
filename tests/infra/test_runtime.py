"""Quiet TensorFlow start-up: benign banners dropped, everything else kept."""

import logging
import os
import subprocess
import sys

from poseaug_tf.infra import runtime


def test_filter_drops_banners_and_keeps_real_errors():
    captured = "\n".join(
        [
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            "I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see slightly different ...",
            "I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.",
            "E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
            "",
            "E0000 00:00:1.0 1 op_kernel.cc:1] Failed to load libfoo.so: cannot open shared object file",
            "Traceback (most recent call last):",
        ]
    )
    kept = runtime.filter_startup_noise(captured)
    assert kept.splitlines() == [
        "E0000 00:00:1.0 1 op_kernel.cc:1] Failed to load libfoo.so: cannot open shared object file",
        "Traceback (most recent call last):",
    ]


def test_entry_point_start_is_quiet_but_stderr_still_works():
    code = (
        "from poseaug_tf.infra.runtime import import_tensorflow_quietly\n"
        "tf = import_tensorflow_quietly()\n"
        "import sys; print(int(tf.constant(20) + 22)); print('still visible', file=sys.stderr)\n"
    )
    # Without TF_CPP_MIN_LOG_LEVEL: the banners must be filtered, not just hidden by a log level.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "42"
    assert "oneDNN custom operations" not in proc.stderr
    assert "Could not find cuda drivers" not in proc.stderr
    assert "still visible" in proc.stderr


def test_terminal_log_lines_carry_no_absl_prefix_but_the_log_file_keeps_time_and_level(tmp_path):
    code = (
        "import logging as py_logging\n"
        "from absl import app, logging\n"
        "from poseaug_tf.infra.runtime import concise_terminal_logging\n"
        "def main(argv):\n"
        "    concise_terminal_logging()\n"
        f"    handler = py_logging.FileHandler({str(tmp_path / 'train.log')!r})\n"
        "    handler.setFormatter(py_logging.Formatter('%(asctime)s %(levelname)s %(message)s'))\n"
        "    py_logging.getLogger('absl').addHandler(handler)\n"
        "    logging.info('epoch 1/2: loss 0.5')\n"
        "    logging.warning('skipped %d samples', 3)\n"
        "app.run(main)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["epoch 1/2: loss 0.5", "warning: skipped 3 samples"]
    logged = (tmp_path / "train.log").read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in logged] == ["INFO epoch 1/2: loss 0.5", "WARNING skipped 3 samples"]


def test_native_stderr_of_a_block_is_replayed_without_the_converter_notes(capfd):
    with runtime.quiet_native_stderr():
        os.write(2, b"W0000 00:00:1.0 1 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.\n")
        os.write(2, b"E0000 00:00:1.0 1 converter.cc:1] a real problem\n")
    assert capfd.readouterr().err.splitlines() == ["E0000 00:00:1.0 1 converter.cc:1] a real problem"]


def test_tensorflow_info_records_are_dropped_but_warnings_and_ours_kept():
    def record(path, level):
        return logging.LogRecord("absl", level, path, 1, "msg", None, None)

    tf_file = os.path.join(os.sep, "venv", "site-packages", "tensorflow", "python", "saver.py")
    assert not runtime._drop_tensorflow_info(record(tf_file, logging.INFO))
    assert runtime._drop_tensorflow_info(record(tf_file, logging.WARNING))
    assert runtime._drop_tensorflow_info(record(os.path.join("poseaug_tf", "training", "loop.py"), logging.INFO))


def test_local_cluster_tf_configs_share_one_cluster_of_distinct_ports():
    import json

    configs = [json.loads(c) for c in runtime.local_cluster_tf_configs(3)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)
    addresses = configs[0]["cluster"]["worker"]
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)
