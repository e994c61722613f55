#!/usr/bin/env python3
"""docs/ against the binaries' --help, so the references cannot drift:
- every flag that `tigo_exporter --help`, `tigo_exporter backfill --help` and `tigo_sim --help`
  print is in the matching section of docs/FLAGS.md, with the default and environment variable
  --help shows, and every flag documented there is printed;
- every quirk name `tigo_sim --help` lists is a row of docs/SIMULATOR.md's quirk table, and
  every row there is a quirk.

Usage: flags_doc_check.py DOCS_DIR TIGO_EXPORTER TIGO_SIM
"""
import os
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


def run_help(argv):
    out = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} --help exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def help_options(text):
    """{flag: (default or None, env or None)} of CLI11's option lines (two spaces, then -)."""
    options = {}
    for line in text.splitlines():
        if not re.match(r"  -", line):
            continue  # usage, headings, wrapped descriptions, subcommands
        head = line[2:].split("  ")[0]  # names, type, =default, (Env:X); then the description
        default = re.search(r"=(\S+)", head)
        env = re.search(r"\(Env:(\w+)\)", head)
        for name in head.split()[0].split(","):
            if FLAG.fullmatch(name):
                options[name] = (default.group(1) if default else None, env.group(1) if env else None)
    return options


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def doc_options(path):
    """{command: {flag: (env or None, default cell)}} from FLAGS.md's flag tables."""
    sections, current = {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("#"):
            current = SECTIONS.get(line.strip())
            if current:
                sections[current] = {}
            continue
        if current is None or not line.startswith("| `-"):
            continue
        row = cells(line) + ["", "", ""]
        envs = re.findall(r"`(\w+)`", row[1])
        for name in re.findall(r"`(-[^`]+)`", row[0]):
            sections[current][name] = (envs[0] if envs else None, row[2])
    return sections


def check_flags(doc, commands, problems):
    documented = doc_options(doc)
    for command, text in commands.items():
        printed = help_options(text)
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
            (default, env), (doc_env, doc_default) = printed[flag], written[flag]
            if env != doc_env:
                problems.append(f"{command}: {flag} reads environment {env} by --help, "
                                f"{doc_env} by {doc}")
            if default is not None and f"`{default}`" not in doc_default:
                problems.append(f"{command}: {flag} defaults to {default} by --help, "
                                f"'{doc_default}' by {doc}")
        print(f"{command}: {len(printed)} flags in --help, {len(written)} in {doc}")


def check_quirks(doc, sim_help, problems):
    listed = re.search(r"Names: ([\w,]+)", sim_help)
    if not listed:
        problems.append("tigo_sim --help: no quirk names after 'Names:'")
        return
    printed = set(listed.group(1).split(","))
    written, in_table = set(), False
    for line in open(doc, encoding="utf-8"):
        if line.startswith("#"):
            in_table = line.strip() == "## Quirks"
        elif in_table and line.startswith("| `"):
            written.add(cells(line)[0].strip("`"))
    for name in sorted(printed - written):
        problems.append(f"quirk {name} is in tigo_sim --help but not in {doc}")
    for name in sorted(written - printed):
        problems.append(f"quirk {name} is in {doc} but not in tigo_sim --help")
    print(f"quirks: {len(printed)} in tigo_sim --help, {len(written)} in {doc}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    docs, exporter, sim = sys.argv[1:]
    commands = {
        "tigo_exporter": run_help([exporter]),
        "tigo_exporter backfill": run_help([exporter, "backfill"]),
        "tigo_sim": run_help([sim]),
    }
    problems = []
    check_flags(os.path.join(docs, "FLAGS.md"), commands, problems)
    check_quirks(os.path.join(docs, "SIMULATOR.md"), commands["tigo_sim"], problems)
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
