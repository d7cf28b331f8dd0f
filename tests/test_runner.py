"""Errors of the user's machine end a step with one line that says what to do (issue 22: 8)."""

import errno

import pytest

from facegan.steps.runner import user_error_message


@pytest.mark.parametrize("code, words", [
    (errno.EROFS, "mounted read-only"),
    (errno.EDQUOT, "no space left on the device"),
    (errno.ENOSPC, "no space left on the device"),
    (errno.EMFILE, "ulimit -n"),
    (errno.ENFILE, "too many files open"),
    (errno.EACCES, "permission denied"),
])
def test_os_errors_a_user_can_fix_get_one_line_naming_the_file(code, words):
    exc = OSError(code, "strerror text", "results/train_state/checkpoints/ckpt-8.index")
    if code == errno.EACCES:
        exc = PermissionError(code, "strerror text", "results/train_state/checkpoints/ckpt-8.index")
    message = user_error_message(exc)
    assert words in message and "ckpt-8.index" in message and "\n" not in message


def test_tensorflows_read_only_error_is_recognised_by_its_words():
    exc = RuntimeError("Failed to create a NewWriteableFile: /x/ckpt-1_temp : Read-only file system")
    assert "mounted read-only" in user_error_message(exc)


def test_other_errors_are_left_as_bugs():
    assert user_error_message(KeyError("note")) is None
    assert user_error_message(OSError(errno.EIO, "I/O error")) is None


def test_too_many_open_files_ends_a_step_with_one_line(tmp_path, python):
    code = ("import resource\nfrom facegan.steps.runner import step\n"
            "@step\ndef opens():\n    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
            "    files = [open(__import__('os').devnull) for _ in range(100)]\n"
            f"opens(log_file={str(tmp_path / 'step.log')!r})\n")
    proc = python(["-c", code], check=False)
    log = (tmp_path / "step.log").read_text()
    assert proc.returncode == 1 and "ulimit -n" in log and "Traceback" not in log + proc.stderr


def test_a_workflow_job_shows_facegan_records_and_keeps_native_output_in_its_log(tmp_path, python):
    code = ("import logging, os\nfrom facegan.steps.runner import step\n"
            "@step\ndef noisy():\n"
            "    os.write(2, b'oneDNN custom operations are on (native)\\n')\n"
            "    logging.getLogger('facegan.x').info('facegan progress line')\n"
            "    logging.getLogger('absl').warning('library chatter')\n"
            "    logging.getLogger('keras').error('a library error')\n"
            f"noisy(log_file={str(tmp_path / 'job.log')!r}, native_to_log=True)\n")
    proc = python(["-c", code])
    log = (tmp_path / "job.log").read_text()
    assert "facegan progress line" in proc.stderr and "a library error" in proc.stderr
    assert "oneDNN" not in proc.stderr and "library chatter" not in proc.stderr
    assert all(s in log for s in ("oneDNN custom operations", "facegan progress line", "library chatter"))


def test_a_full_disk_ends_a_step_with_one_line_in_its_log(tmp_path, python):
    code = ("from facegan.steps.runner import step\n"
            "@step\ndef write():\n    with open('/dev/full', 'w') as f:\n        f.write('x' * 65536)\n"
            f"write(log_file={str(tmp_path / 'step.log')!r})\n")
    proc = python(["-c", code], check=False)
    log = (tmp_path / "step.log").read_text()
    assert proc.returncode == 1 and "no space left on the device" in log and "Traceback" not in log
    assert "Traceback" not in proc.stderr


def test_a_bug_still_shows_its_traceback_in_the_log(tmp_path, python):
    code = ("from facegan.steps.runner import step\n"
            "@step\ndef broken():\n    return {}['missing']\n"
            f"broken(log_file={str(tmp_path / 'step.log')!r})\n")
    proc = python(["-c", code], check=False)
    assert proc.returncode == 1 and "Traceback" in (tmp_path / "step.log").read_text() and "KeyError" in proc.stderr
