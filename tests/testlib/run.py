"""Run a ``mindface-au`` command the way a user does, and get its exit status and output.

:func:`run_command` runs ``mindface_au.commands.<name>.main(argv)`` in this process (through the
``mindface-au`` dispatcher, so argument errors, ``error: ...`` lines and exit statuses are those of
the console command) unless ``own_process`` asks for a child process: tests that kill the run, that
need a fresh MindSpore or a hidden package, or that time a cold start.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings

from . import ROOT


def subprocess_env(**extra) -> dict:
    """The environment of a child process: this checkout's package and ``tests/`` (for testlib) first on
    the path, plus ``extra`` variables."""
    env = dict(os.environ, **extra)
    first = os.pathsep.join([ROOT, os.path.join(ROOT, "tests")])
    env["PYTHONPATH"] = first + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def command_line(name: str, *args) -> list:
    """``python -m mindface_au <name> args...`` as a child process's argument list."""
    return [sys.executable, "-m", "mindface_au", name, *map(str, args)]


def _print_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_command(name: str, *args, own_process: bool = False, timeout: int = 900,
                env: dict | None = None) -> subprocess.CompletedProcess:
    """``mindface-au <name> args...``: its CompletedProcess (``returncode``, ``stdout``, ``stderr`` as text).

    In-process by default (from the repository root, ``sys.argv`` restored afterwards; warnings are
    printed to its stderr); an exception that escapes the command becomes exit status 1 with its
    traceback on stderr, as in a child process.
    ``own_process`` (or ``env``, extra environment variables) runs it as a child process instead.
    """
    argv = [name, *map(str, args)]
    if own_process or env:
        return subprocess.run(command_line(*argv), capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                              env=subprocess_env(**(env or {})))
    from mindface_au.commands import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv = sys.argv[:]
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("default")  # each warning once, as in a fresh process, printed to its stderr
        warnings.showwarning = _print_warning
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except Exception:  # noqa: BLE001  (a child process would print it and exit 1)
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = saved_argv
    if isinstance(code, str):
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(argv, 0 if code is None else code, out.getvalue(), err.getvalue())


def run_in_own_process(name: str, *args, timeout: int = 900) -> subprocess.CompletedProcess:
    """``mindface-au <name> args...`` in a child process (Ray, detector workers and kills need a fresh one)."""
    return run_command(name, *args, own_process=True, timeout=timeout)
