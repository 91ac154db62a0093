"""Every shell block of the README is run by exactly one test, or named with the reason it is not; the extractor
finds blocks and commands as a reader sees them; and the README sends nobody to folders they do not have."""

from __future__ import annotations

import fnmatch
import itertools
import shlex
from collections import Counter

from tests import readme_blocks
from tests.readme_blocks import NOT_RUN, REPO, RUNNERS

SAMPLE = """# A project

```sh
make it   # a comment with an apostrophe: it's fine
```

## First

```bash
# a comment line is left out
curl -s -X PUT http://127.0.0.1:8000/x -H 'content-type: application/json' \\
  -d '{"a": 1,
       "b": 2}'
printf '%s\\n' one two |
  wc -l
mkdir -p a && cp b a/
```

```python
print("not a shell block")
```

```console
## not a heading, but inside a block
```

### Deeper

```toml
x = 1
```

```shell
echo "$(date)"   # it's today
```
"""


def test_blocks_are_found_under_their_headings() -> None:
    found = readme_blocks.blocks(SAMPLE)
    assert [(b.language, b.line, b.section, b.subsection) for b in found] == [
        ("sh", 3, "", None),
        ("bash", 9, "First", None),
        ("console", 23, "First", None),
        ("shell", 33, "First", "Deeper"),
    ]
    assert found[0].first_line == "make it" and found[3].first_line == 'echo "$(date)"'


def test_commands_are_split_as_they_are_pasted() -> None:
    (_, block, _, shell) = readme_blocks.blocks(SAMPLE)
    commands = block.commands()
    assert len(commands) == 3
    assert commands[0].startswith("curl") and commands[0].rstrip().endswith('"b": 2}\'')
    assert commands[1].startswith("printf") and "wc -l" in commands[1]
    assert commands[2] == "mkdir -p a && cp b a/\n"
    assert shell.commands() == ['echo "$(date)"   # it\'s today\n']  # an apostrophe in a comment opens nothing


def test_every_readme_block_is_run_by_exactly_one_test_or_named_with_its_reason() -> None:
    blocks = readme_blocks.blocks()
    assert len(blocks) >= 15
    orphans = [f"README.md:{b.line} ({b.section}): {b.first_line}" for b in blocks
               if (b.first_line in NOT_RUN) == (b.runner is not None)]  # fmt: skip
    assert not orphans, "give each block a runner in tests/readme_blocks.py RUNNERS, or a reason in NOT_RUN"
    named = Counter(b.first_line for b in blocks if b.first_line in NOT_RUN)
    assert named == dict.fromkeys(NOT_RUN, 1), "each NOT_RUN entry names exactly one block"
    assert all(len(reason) > 20 for reason in NOT_RUN.values())
    headings = {b.subsection for b in blocks} | {b.section for b in blocks}
    assert set(RUNNERS) <= headings, "a RUNNERS heading the README no longer has"
    for runner in set(RUNNERS.values()):
        source = (REPO / runner).read_text(encoding="utf-8")
        sections = [heading for heading, test in RUNNERS.items() if test == runner]
        # A runner takes its blocks from the extractor (the city test, another team's, reads its section itself).
        assert "readme_blocks.blocks_for(__file__)" in source or all(f"## {s}" in source for s in sections), runner


def test_the_readme_sends_nobody_to_folders_they_do_not_have() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "shared/data" not in readme and "DESIGN.md" not in readme
    ingest = next(c for b in readme_blocks.blocks() for c in b.commands() if "futago ingest" in c)
    sample = shlex.split(ingest)[2]
    assert sample == "src/futago/samples/readings.csv" and (REPO / sample).is_file()


def test_what_the_examples_write_goes_under_futago_data_or_is_ignored() -> None:
    ignored = [line.strip() for line in (REPO / ".gitignore").read_text().splitlines() if line.strip()[:1] not in "#"]
    written = []
    for block in readme_blocks.blocks():
        if block.first_line in NOT_RUN:
            continue
        for command in block.commands():
            words = shlex.split(command.replace("\\\n", " "), comments=True)
            flags = ("--db", "--out", "--save-model", "--predictions")
            written += [after for flag, after in itertools.pairwise(words) if flag in flags]
    assert len(written) > 20

    def kept_out_of_git(path: str) -> bool:
        first = path.split("/")[0]
        return path.startswith("futago-data/") or any(
            fnmatch.fnmatch(path, pattern) or (pattern.endswith("/") and first == pattern.rstrip("/"))
            for pattern in ignored
        )

    assert [path for path in written if not kept_out_of_git(path)] == []
    # The files a store grows beside it (its key vault, audit key and checkpoints) are ignored by name too.
    for store in {path for path in written if path.endswith(".db") and not path.startswith("futago-data/")}:
        for beside in (".keys", ".audit-checkpoints.jsonl"):
            assert any(fnmatch.fnmatch(store + beside, pattern) for pattern in ignored), store + beside
        assert any(fnmatch.fnmatch(store + ".audit-key.pem", pattern) for pattern in ignored), store
