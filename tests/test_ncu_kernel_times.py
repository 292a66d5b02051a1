#!/usr/bin/env python3
"""tools/ncu_kernel_times.py on a small ncu CSV: kernel names without parameter lists,
units, thousands separators, lines that are not CSV, other metrics, bad units."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import ncu_kernel_times as nkt  # noqa: E402

HEADER = '"ID","Kernel Name","Metric Name","Metric Unit","Metric Value"\n'


def row(i, name, value, unit="ns", metric="gpu__time_duration.sum"):
    return f'"{i}","{name}","{metric}","{unit}","{value}"\n'


class ShortName(unittest.TestCase):
    def test_parameter_list_is_dropped_template_arguments_kept(self):
        self.assertEqual(nkt.short_name("void <unnamed>::k<2, <unnamed>::P>(T2, const int *)"),
                         "<unnamed>::k<2, <unnamed>::P>")
        self.assertEqual(nkt.short_name("nvjet_sm90_tst_64x8"), "nvjet_sm90_tst_64x8")
        self.assertEqual(nkt.short_name("f<(int)1>(int)"), "f<(int)1>")


class KernelTimes(unittest.TestCase):
    def test_launches_and_microseconds_per_kernel(self):
        lines = ["==PROF== Connected to process 1\n", "seam-demo: decode\n", HEADER,
                 row(0, "void a<1>(int)", "2,144"), row(1, "void a<1>(int)", "1.5", "us"),
                 row(2, "void a<2>(int)", "0.25", "ms"), row(3, "b(float *)", "9", "ns", "sm__cycles"),
                 "==PROF== Disconnected\n"]
        t = nkt.kernel_times(lines)
        self.assertEqual(sorted(t), ["a<1>", "a<2>"])
        self.assertEqual(t["a<1>"][0], 2)
        self.assertAlmostEqual(t["a<1>"][1], 2.144 + 1.5)
        self.assertEqual(t["a<2>"][0], 1)
        self.assertAlmostEqual(t["a<2>"][1], 250.0)

    def test_unknown_unit_and_missing_csv_are_errors(self):
        with self.assertRaises(SystemExit):
            nkt.kernel_times([HEADER, row(0, "a()", "1", "cycle")])
        with self.assertRaises(SystemExit):
            nkt.kernel_times(["no csv here\n"])


if __name__ == "__main__":
    unittest.main()
