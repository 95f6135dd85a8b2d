#!/usr/bin/python3
"""Is this machine steady enough to judge a CPU ratio to ±0.03, and in how many rounds? Measured
by a plain CPython, without gilbench, before a 10-minute fidelity run.

It times the countdown (`while n > 0: n -= 1`) in this interpreter, sized to take SECONDS, as one
thread and then as two threads (the GIL's switch interval as given), back to back, ROUNDS times,
and prints:
  - one thread's trial: the median and its noise, (p75 - p25) / 2 over the median;
  - 2 threads / 1 thread per round: the median, p25-p75 and the noise, (p75 - p25) / 2.
  - the rounds a fidelity verdict on a CPU ratio would need here (docs/statistics.md): the
    verdict is decided when the 95 % interval of the paired difference (emulated - real) fits in
    the band ±0.03; each side carries this ratio's noise, so its spread per round is about √2
    times the ratio's standard deviation (estimated as IQR / 1.349), and the interval's
    half-width 1.96 sd / √n must come under the band: n ≈ (1.96 √2 sd / 0.03)². A machine whose
    ratio noise is wider than the band needs many rounds ("undecided" verdicts say how many).

    /usr/bin/python3 bench/host_noise.py                      # 20 rounds of 0.2 s, ~10 s
    ~/.pyenv/versions/3.12.1/bin/python bench/host_noise.py --rounds 40 --json /tmp/noise.json

Exit status 0 whatever the verdict (this measures the machine, it tests nothing); 2 for bad
arguments.
"""
import argparse
import json
import math
import platform
import statistics
import sys

from cpython_cells import countdown, run_threads  # bench/, beside this script

BAND = 0.03  # the CPU ratios' band in the fidelity section (analysis/gilbench_analysis/fidelity.py)


def timed(threads, steps):
    """Wall time of `steps` countdown steps split over `threads` threads."""
    return run_threads(countdown, [(steps // threads,)] * threads)


def size(seconds):
    """Countdown steps that take about `seconds` in one thread here (the code warmed up first:
    CPython 3.11 and later specialize it after a few calls, and run it faster then)."""
    for _ in range(10):
        countdown(1000)
    steps = 100_000
    while True:
        took = timed(1, steps)
        if took >= 0.1 or steps >= 1 << 34:
            return max(1, int(steps * seconds / took))
        steps *= 4


def spread(values):
    """(median, p25, p75) of at least one value."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q[0], q[2]


def measure(rounds, seconds, interval):
    sys.setswitchinterval(interval)
    steps = size(seconds)
    timed(1, steps)  # warm-up, as the fidelity job's
    timed(2, steps)
    one, ratios = [], []
    for _ in range(rounds):
        a = timed(1, steps)
        b = timed(2, steps)
        one.append(a)
        ratios.append(b / a)
    m1, p25_1, p75_1 = spread(one)
    mr, p25_r, p75_r = spread(ratios)
    trial_noise = (p75_1 - p25_1) / 2 / m1
    ratio_noise = (p75_r - p25_r) / 2
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "switch_interval_s": interval,
        "steps": steps,
        "rounds": rounds,
        "one_thread_s": {"median": m1, "p25": p25_1, "p75": p75_1},
        "trial_noise": trial_noise,
        "ratio_2t": {"median": mr, "p25": p25_r, "p75": p75_r},
        "ratio_noise": ratio_noise,
        "steady_enough": ratio_noise <= BAND,
        "rounds_for_band": rounds_for_band(p75_r - p25_r),
    }


def rounds_for_band(iqr):
    """Rounds for a paired difference of two such ratios to have a 95 % interval within ±BAND
    when the true difference is 0 (see the module's text)."""
    sd = iqr / 1.349
    return max(3, math.ceil((1.96 * math.sqrt(2) * sd / BAND) ** 2))


def positive(kind):
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if not v > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not above 0")
        return v
    return parse


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=positive(int), default=20, help="pairs of trials (default 20)")
    p.add_argument("--seconds", type=positive(float), default=0.2, help="one thread's trial, about (default 0.2)")
    p.add_argument("--switch-interval", type=positive(float), default=0.005,
                   help="sys.setswitchinterval, s (default 0.005, CPython's)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    a = p.parse_args(argv)
    r = measure(a.rounds, a.seconds, a.switch_interval)
    o, q = r["one_thread_s"], r["ratio_2t"]
    print(f"host_noise: CPython {r['python']} ({r['executable']}), {r['rounds']} rounds of {r['steps']} steps, "
          f"switch interval {a.switch_interval * 1e3:g} ms")
    print(f"one thread:  median {o['median']:.4f} s, noise ±{r['trial_noise'] * 100:.1f} % "
          f"(p25-p75 {o['p25']:.4f}-{o['p75']:.4f} s)")
    print(f"2t / 1t:     median {q['median']:.3f}, noise ±{r['ratio_noise']:.3f} "
          f"(p25-p75 {q['p25']:.3f}-{q['p75']:.3f})")
    if r["steady_enough"]:
        print(f"verdict: steady enough for CPU ratios to ±{BAND:g} (noise ±{r['ratio_noise']:.3f}); a fidelity "
              f"verdict needs about {r['rounds_for_band']} rounds")
    else:
        print(f"verdict: too noisy for CPU ratios to ±{BAND:g} in a few rounds (noise ±{r['ratio_noise']:.3f}): a "
              f"fidelity verdict needs about {r['rounds_for_band']} rounds here; a quieter machine (an idle "
              "node, no other tenants) needs fewer")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
