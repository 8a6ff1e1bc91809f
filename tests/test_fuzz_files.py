"""Hostile and damaged Keras files, each loaded in a memory-capped subprocess (tests/fuzz_cases.py).

The contract, for every input: a clean load or a ``ValueError`` whose message names the file; no
hang (a per-case timeout); no allocation beyond the worker's baseline (torch and initium
imported) plus 1 GiB (``RLIMIT_AS``; the canary case proves the cap holds); no read outside the
file (no weight holds the bytes of the sentinel files that hostile inputs point at); no code run
from a config (the marker file never appears); and after an error, the target model's weights and
optimizer state are bit-identical to before. Cases marked ``error``/``clean`` must also end that way.

CI loads a fixed sample (every hostile HDF5 construct as a bare ``.weights.h5``, the key ones also
inside a ``.keras``, the config cases, a few truncations and byte flips); ``INITIUM_SLOW=1`` loads the
whole generated corpus (hundreds of byte flips over whole files, a 1 GiB chunk).
"""

import os

import pytest

import fuzz_cases

SLOW = os.environ.get("INITIUM_SLOW") == "1"
KEY = ("external_storage_fifo", "external_storage_file", "external_link_group", "soft_link_dangling", "split_driver",
       "virtual_dataset", "giant_chunk", "nested_groups_3000", "big_endian_float", "optimizer_unbuilt_state",
       "optimizer_wrong_shapes")


def _in_sample(name: str) -> bool:
    """CI's fixed sample of the corpus (names are stable: the generator is seeded)."""
    head, _, tail = name.partition(".")
    if head in ("canary", "metadata") or head in KEY or (head == "config" and not tail.startswith("units_")):
        return True
    if head == "flip":
        return name.split(".")[1] == "initium" or ".h5." in name
    if head == "truncate":
        return name.split(".")[1] == "initium" and name.rsplit(".", 1)[-1] in ("96", "2048")
    return tail == "h5"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    cases = fuzz_cases.generate(str(tmp_path_factory.mktemp("fuzz")), slow=SLOW)
    if not SLOW:
        cases = [c for c in cases if _in_sample(c["name"])]
    flips = [c for c in cases if c["name"].startswith("flip.")]
    results = {r["name"]: r for r in fuzz_cases.run_cases(cases)}
    return {c["name"]: (c, results[c["name"]]) for c in cases}, flips


def _failures(corpus, bad) -> list[str]:
    return [f"{name}: {result}" for name, (case, result) in corpus[0].items() if case["op"] != "canary"
            and bad(case, result)]


def test_the_memory_cap_holds_and_the_corpus_covers_the_findings(corpus):
    cases, flips = corpus
    assert cases["canary"][1]["outcome"] == "capped"
    names = {name.split(".")[0] for name in cases}
    assert set(KEY) <= names and {"config", "truncate", "flip", "key_superscript_two", "declared_1e12"} <= names
    assert len(flips) >= (1000 if SLOW else 12)


def test_every_input_loads_cleanly_or_raises_a_value_error_naming_the_file(corpus):
    assert _failures(corpus, lambda c, r: r["outcome"] not in ("clean", "error")) == []
    assert _failures(corpus, lambda c, r: r["outcome"] == "error" and not r["names_file"]) == []


def test_hostile_inputs_are_refused_and_legitimate_ones_load(corpus):
    assert _failures(corpus, lambda c, r: c["expect"] != "any" and r["outcome"] != c["expect"]) == []


def test_a_failed_load_leaves_the_model_and_optimizer_untouched(corpus):
    assert _failures(corpus, lambda c, r: r["outcome"] == "error" and not r["untouched"]) == []


def test_nothing_is_read_from_other_files_and_no_code_runs(corpus):
    assert _failures(corpus, lambda c, r: r["outcome"] == "clean" and r["sentinel"]) == []
    assert _failures(corpus, lambda c, r: r.get("marker")) == []
