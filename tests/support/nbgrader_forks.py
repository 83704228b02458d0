"""A process that imports nbgrader once, then runs each nbgrader command it is sent in a fork of itself.

Started by :func:`support.nbgrader_course.nbgrader_forks` (``python tests/support/nbgrader_forks.py``).  Each line
on its stdin is a job, ``{"args": [...], "env": {...}, "cwd": ..., "stdout": path, "stderr": path}``; it forks, the
child takes the job's environment, folder and arguments and calls the ``nbgrader`` command's own entry point
(``nbgrader.apps.nbgraderapp.main``, what the venv's ``nbgrader`` script calls) with its output in the two files,
and the answer is one line, ``{"returncode": N}``.  A command started this way is the real command with its imports
done already: starting nbgrader costs about 1.3 CPU s of imports, and a course's run starts it some thirty times.
It ends at the end of its stdin.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _child(job: dict, main) -> int:
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    sys.argv = ["nbgrader", *job["args"]]
    try:
        main()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def serve() -> None:
    from course.startup import skip_slow_format_checkers

    skip_slow_format_checkers()  # as the project's own commands do (course/startup.py)
    from nbgrader.apps.nbgraderapp import main

    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(job, main)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
