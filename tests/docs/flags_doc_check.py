#!/usr/bin/env python3
"""docs/FLAGS.md against the binaries' --help: every flag (and its environment variable) that
`tigo_exporter --help`, `tigo_exporter backfill --help` and `tigo_sim --help` print is in the
matching section of docs/FLAGS.md, and every flag documented there is printed.

Usage: flags_doc_check.py FLAGS.md TIGO_EXPORTER TIGO_SIM
"""
import re
import subprocess
import sys

# FLAGS.md heading -> the command whose --help that section documents.
SECTIONS = {
    "## tigo_exporter": "tigo_exporter",
    "### tigo_exporter backfill": "tigo_exporter backfill",
    "## tigo_sim": "tigo_sim",
}
FLAG = re.compile(r"--?[A-Za-z][\w.-]*")
ENV = re.compile(r"\(Env:(\w+)\)")


def help_options(argv):
    """{flag: env or None} of the option lines of `argv --help` (CLI11: two spaces, then -)."""
    out = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} --help exited {out.returncode}: {out.stderr.strip()}")
    options = {}
    for line in out.stdout.splitlines():
        if not re.match(r"  -", line):
            continue  # usage, headings, wrapped descriptions, subcommands
        names = line.split()[0]
        env = ENV.search(line)
        for name in names.split(","):
            if FLAG.fullmatch(name):
                options[name] = env.group(1) if env else None
    return options


def doc_options(path):
    """{section command: {flag: env or None}} from the flag tables (| `--flag` | `ENV` | ...)."""
    sections, current = {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("#"):
            current = SECTIONS.get(line.strip())
            if current:
                sections[current] = {}
            continue
        if current is None or not line.startswith("| `-"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        envs = re.findall(r"`(\w+)`", cells[1]) if len(cells) > 1 else []
        for name in re.findall(r"`(-[^`]+)`", cells[0]):
            sections[current][name] = envs[0] if envs else None
    return sections


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    doc, exporter, sim = sys.argv[1:]
    commands = {
        "tigo_exporter": [exporter],
        "tigo_exporter backfill": [exporter, "backfill"],
        "tigo_sim": [sim],
    }
    documented = doc_options(doc)
    problems = []
    for command, argv in commands.items():
        printed = help_options(argv)
        if len(printed) < 4:
            problems.append(f"{command} --help: only {sorted(printed)} read; has its format changed?")
        written = documented.get(command)
        if written is None:
            problems.append(f"{doc}: no section for {command}")
            continue
        for flag in sorted(printed.keys() - written.keys()):
            problems.append(f"{command}: {flag} is in --help but not in {doc}")
        for flag in sorted(written.keys() - printed.keys()):
            problems.append(f"{command}: {flag} is in {doc} but not in --help")
        for flag in sorted(printed.keys() & written.keys()):
            if printed[flag] != written[flag]:
                problems.append(f"{command}: {flag} reads environment {printed[flag]} by --help, "
                                f"{written[flag]} by {doc}")
        print(f"{command}: {len(printed)} flags in --help, {len(written)} in {doc}")
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
