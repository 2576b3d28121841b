# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Summarise colcon test results from JUnit files; fail on any failure or on a package with no test.

Usage: python scripts/test_report.py BUILD_DIR [colcon test args]
"""

from pathlib import Path
import subprocess
import sys
import xml.etree.ElementTree as ET


def package_results(build_dir, package):
    """Return (tests, failures, skipped, failed test names) over the JUnit files of one package."""
    tests = failures = skipped = 0
    failed = []
    files = list((build_dir / package).glob('pytest.xml')) + list((build_dir / package / 'test_results').rglob('*.xml'))
    for path in files:
        root = ET.parse(path).getroot()
        for suite in root.iter('testsuite'):
            for case in suite.iter('testcase'):
                tests += 1
                if case.find('failure') is not None or case.find('error') is not None:
                    failures += 1
                    failed.append(f'{package}: {case.get("classname")}.{case.get("name")}')
                elif case.find('skipped') is not None:
                    skipped += 1
    return tests, failures, skipped, failed


def selected_packages(colcon_args):
    listed = subprocess.run(['colcon', 'list', '--names-only', *colcon_args],
                            capture_output=True, text=True, check=True).stdout.split()
    return listed


def main(argv):
    build_dir = Path(argv[0])
    packages = ['workspace'] + selected_packages(argv[1:])  # workspace = the tests/ folder
    total = failed_total = skipped_total = 0
    problems = []
    print(f'{"package":<18} {"tests":>6} {"failed":>7} {"skipped":>8}')
    for package in packages:
        tests, failures, skipped, failed = package_results(build_dir, package)
        print(f'{package:<18} {tests:>6} {failures:>7} {skipped:>8}')
        total, failed_total, skipped_total = total + tests, failed_total + failures, skipped_total + skipped
        problems += failed
        if tests == 0:
            problems.append(f'{package}: ran no test (a package with zero tests is an error)')
    for problem in problems:
        print(f'FAILED {problem}')
    print(f'{total - failed_total - skipped_total} passed, {failed_total} failed, {skipped_total} skipped')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
