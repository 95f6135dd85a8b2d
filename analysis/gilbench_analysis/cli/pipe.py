"""A command whose reader went away (`gilbench-table FILE | head`) stops quietly, as a Unix filter
killed by SIGPIPE does, instead of printing a BrokenPipeError traceback."""
import functools
import os
import sys

SIGPIPE_STATUS = 128 + 13  # what the shell reports for a process that SIGPIPE ended


def quiet_on_closed_pipe(main):
    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            status = main(*args, **kwargs)
            # Output shorter than the buffer is still in it: write it now, where a closed pipe is
            # caught, not at interpreter exit ("Exception ignored ... BrokenPipeError", status 120).
            sys.stdout.flush()
            return status
        except BrokenPipeError:
            # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return SIGPIPE_STATUS
    return wrapped
