"""The emulated engine's calibration in a results file, decoded by name (fidelity.urllib_costs_per_node):
a file the real binary wrote (the small seed job's: emulated io cells) names its fields beside the
values (run attributes urllib_costs_fields, urllib_costs_version); the same file without the names,
as gilbench wrote it before them, decodes to the same record, and older layouts to their fields."""
import h5py
import numpy as np

from gilbench_analysis import load
from gilbench_analysis.fidelity import urllib_costs_per_node, urllib_costs_text
from h5edit import copy_file

FIELDS = ["before_request_warm_ns", "after_resolve_warm_ns", "after_socket_warm_ns", "after_connect_warm_ns",
          "after_send_warm_ns", "after_recv_warm_ns", "after_close_warm_ns",
          "before_request_cold_ns", "after_resolve_cold_ns", "after_socket_cold_ns", "after_connect_cold_ns",
          "after_send_cold_ns", "after_recv_cold_ns", "after_close_cold_ns",
          "countdown_per_1000_ns", "urllib_per_1000_instructions_ns",
          "cold_scale_500us_permille", "cold_scale_50ms_permille", "old_gil_countdown_per_1000_ns"]
BEFORE_NAMES = FIELDS[:18]   # record version 4, the last one stored without names


def test_a_new_file_names_its_fields_and_decodes_by_them(results_file):
    r = load(results_file)
    assert r.attrs["urllib_costs_fields"] == FIELDS
    assert r.attrs["urllib_costs_version"] == 5
    nodes = urllib_costs_per_node(r.attrs)
    assert len(nodes) == len(r.hosts) == 1
    assert list(nodes[0]) == FIELDS
    assert list(nodes[0].values()) == [int(v) for v in r.attrs["urllib_costs_ns"]]
    assert all(v > 0 for v in nodes[0].values())


def test_the_same_file_without_names_decodes_alike(results_file, tmp_path):
    old = copy_file(results_file, tmp_path / "old.h5")
    run = load(results_file).run
    with h5py.File(old, "r+") as f:
        attrs = f[f"runs/{run}"].attrs
        del attrs["urllib_costs_fields"]
        del attrs["urllib_costs_version"]
        # Version 4's layout, the last stored without names: the first 18 fields of each node.
        attrs["urllib_costs_ns"] = np.asarray(attrs["urllib_costs_ns"]).reshape(-1, len(FIELDS))[:, :18].ravel()
    new, before = load(results_file), load(old)
    assert "urllib_costs_fields" not in before.attrs
    assert urllib_costs_per_node(before.attrs) == [{k: n[k] for k in BEFORE_NAMES}
                                                   for n in urllib_costs_per_node(new.attrs)]
    # The old GIL's countdown is the embedded one's here, which the text does not repeat.
    assert urllib_costs_text(before.attrs) == urllib_costs_text(new.attrs)


def test_named_fields_decode_in_any_order_and_old_flat_arrays_by_their_length():
    values = list(range(1, 20))
    named = urllib_costs_per_node({"urllib_costs_ns": np.array(values[::-1] * 2), "urllib_costs_fields": FIELDS[::-1],
                                   "hosts": ["a", "b"]})
    assert named == [dict(zip(FIELDS, values))] * 2
    # Before the names: 18 per node (record version 4), 16, 14 or 7 (versions 3, 2, 1).
    for k in (18, 16, 14, 7):
        nodes = urllib_costs_per_node({"urllib_costs_ns": np.array(values[:k] * 3), "hosts": ["a", "b", "c"]})
        assert nodes == [dict(zip(FIELDS[:k], values[:k]))] * 3, k
    # No hosts attribute: the longest layout that divides the values.
    assert list(urllib_costs_per_node({"urllib_costs_ns": values[:16] * 2})[1]) == FIELDS[:16]
    assert urllib_costs_per_node({"urllib_costs_ns": []}) == []
    assert urllib_costs_per_node({}) == []


def test_the_text_reads_the_costs_by_name():
    fallback = [47000, 600, 500, 3500, 14000, 78000, 4000, 277000, 3200, 51000, 48000, 131500, 389000, 55800,
                43000, 30200, 250, 1300, 43000]
    order = [FIELDS.index(f) for f in sorted(FIELDS)]
    shuffled = dict(calibration="measured", urllib_costs_fields=sorted(FIELDS),
                    urllib_costs_ns=[fallback[i] for i in order])
    assert urllib_costs_text(shuffled) == urllib_costs_text(dict(calibration="measured", urllib_costs_fields=FIELDS,
                                                                 urllib_costs_ns=fallback))
    assert urllib_costs_text(shuffled).startswith(
        "measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 (cold: 277.0, 3.2, 51.0, 48.0, 131.5, 389.0, 55.8) µs, "
        "countdown 43.0 ns/iteration, urllib 30.2 ns/instruction, cold after 0.5 / 50 ms waits: 25 / 130 % ")
    # Timed on a Python 2 (gilbench run --old-gil-python): said beside the embedded countdown.
    python2 = dict(calibration="measured", urllib_costs_fields=FIELDS, urllib_costs_ns=fallback[:-1] + [13000])
    assert "countdown 43.0 ns/iteration, urllib 30.2 ns/instruction, old GIL's ticks timed on a countdown of " \
           "13.0 ns/iteration," in urllib_costs_text(python2)
    assert "old GIL" not in urllib_costs_text(shuffled)
    # A record with fields this analysis does not know shows the ones it knows.
    extra = dict(calibration="measured", urllib_costs_fields=FIELDS[:7] + ["after_dns_ns"],
                 urllib_costs_ns=fallback[:7] + [5])
    assert urllib_costs_text(extra).startswith("measured: 47.0, 0.6, 0.5, 3.5, 14.0, 78.0, 4.0 µs (before request")
    assert urllib_costs_text({}) == "–"
