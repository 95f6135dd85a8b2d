#!/usr/bin/python3
"""run_logged.py LOG -- COMMAND...: runs COMMAND, copies its standard output to LOG as well as
to this process's, and exits with COMMAND's exit status (a ctest test then fails when the command
fails, and a later test checks what it printed)."""
import subprocess
import sys


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: run_logged.py LOG -- COMMAND...")
    log, cmd = argv[0], argv[2:]
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        for line in p.stdout:
            sys.stdout.write(line)
            out.write(line)
        return p.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
