"""The controller's check of a GMM run's annotation matrix: each bad input named with its file, line and
field; a good one accepted; the same verdict, at the same place, as the KINC payload's cond-test reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils.kinc_annotations import (
    AnnotationError,
    check_annotations,
    feature_list,
    feature_types,
    gem_samples,
)

from tests.support.payload import payload_module

SAMPLES = ["s1", "s2", "s3"]
GOOD = "Sample\tTreatment\tAge\tDose\ns3\tB\t7\t0.5\ns1\tA\t3\tNA\ns2\tA\t4\t1.5\n"


def amx(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "amx.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_a_good_matrix_is_accepted_with_its_types(tmp_path: Path) -> None:
    found = check_annotations(amx(tmp_path, GOOD), SAMPLES)
    assert found["samples"] == 3 and found["features"] == ["Treatment", "Age", "Dose"]
    assert found["types"] == {"Treatment": "categorical", "Age": "ordinal", "Dose": "quantitative"}
    found = check_annotations(amx(tmp_path, GOOD), SAMPLES, ["Age"], {"Age": "quantitative"})
    assert found["features"] == ["Age"] and found["types"] == {"Age": "quantitative"}


BAD = [
    ("empty", "", SAMPLES, {}, "amx.txt: file is empty"),
    ("header missing", "s1\tA\ns2\tB\ns3\tC\n", SAMPLES, {}, "line 1: header missing: field 1 's1'"),
    ("column twice", "Sample\tA\tA\ns1\t1\t2\n", SAMPLES, {}, "line 1: column 'A' is named twice, fields 2 and 3"),
    ("unknown tested feature", GOOD, SAMPLES, {"feat_tests": ["Height"]},
     "line 1: kinc_feat_tests names feature 'Height', which is not a column"),
    ("unknown typed feature", GOOD, SAMPLES, {"feat_types": {"Height": "ordinal"}},
     "line 1: kinc_feat_types names feature 'Height'"),
    ("short row", "Sample\tA\ns1\t1\ns2\ns3\t2\n", SAMPLES, {}, "line 3: expected 2 fields"),
    ("sample twice", "Sample\tA\ns1\t1\ns1\t2\ns3\t2\n", SAMPLES, {},
     "line 3: sample 's1' is annotated twice, on lines 2 and 3"),
    ("not a GEM sample", "Sample\tA\ns1\t1\ns2\t2\ns9\t2\n", SAMPLES, {}, "line 4: sample 's9' is not a sample"),
    ("sample not annotated", "Sample\tA\ns1\t1\ns2\t2\n", SAMPLES, {}, "1 of the GEM's samples not annotated ('s3')"),
    ("type does not fit", GOOD, SAMPLES, {"feat_types": {"Treatment": "quantitative"}},
     "line 3, field 2 ('Treatment'): 'A' is not a number"),
    ("ordinal not integer", GOOD, SAMPLES, {"feat_types": {"Dose": "ordinal"}},
     "line 4, field 4 ('Dose'): '1.5' is not an integer"),
    ("not utf-8", b"Sample\tA\ns1\t\xe9\n", SAMPLES, {}, "line 2: not valid UTF-8"),
]


@pytest.mark.parametrize(("case", "content", "samples", "options", "words"), BAD, ids=[b[0] for b in BAD])
def test_each_problem_names_file_line_and_field(tmp_path: Path, case, content, samples, options, words) -> None:
    path = amx(tmp_path, content)
    with pytest.raises(AnnotationError) as raised:
        check_annotations(path, samples, options.get("feat_tests", ()), options.get("feat_types"))
    assert str(raised.value).startswith(str(path)) and words in str(raised.value), str(raised.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="nowhere.txt: no such file"):
        check_annotations(tmp_path / "nowhere.txt", SAMPLES)


def test_role_values_become_feature_lists(tmp_path: Path) -> None:
    assert feature_list(["A", "B"], "kinc_feat_tests") == ["A", "B"] and feature_list("A, B", "x") == ["A", "B"]
    assert feature_list("", "kinc_feat_tests") == []
    with pytest.raises(AnnotationError, match="kinc_feat_tests: 'A,,B' has an empty name"):
        feature_list("A,,B", "kinc_feat_tests")
    assert feature_types({"Age": "Quantitative"}) == {"Age": "quantitative"} == feature_types("Age:quantitative")
    with pytest.raises(AnnotationError, match="kinc_feat_types: item 'Age:number'"):
        feature_types("Age:number")
    gem = tmp_path / "gem.txt"
    gem.write_text("\n s1\ts2 s3\ng 1 2 3\n")
    assert gem_samples(gem) == SAMPLES


@pytest.fixture(scope="module")
def read_annotations():
    return payload_module("annotations").read_annotations, payload_module("errors").KincError


AGREEMENT = {
    "good": (GOOD, {}),
    "crlf-blank-lines-spaces": ("\nSample\tA \r\n\ns1\t 1\r\ns2\t2\r\ns3\tNA\r\n", {}),
    **{case: (content, options) for case, content, _, options, _ in BAD if isinstance(content, str) and content},
}


@pytest.mark.parametrize("name", AGREEMENT)
def test_accepts_what_the_payload_accepts(tmp_path: Path, read_annotations, name: str) -> None:
    read, kinc_error = read_annotations
    content, options = AGREEMENT[name]
    path = amx(tmp_path, content)
    types = options.get("feat_types", {})
    header = [line for line in content.splitlines() if line.strip()][0].rstrip("\r").split("\t")
    tests = options.get("feat_tests") or [name.strip() for name in header[1:]]
    try:
        read(str(path), SAMPLES, tests, types, "\t", "NA")
    except kinc_error as error:
        payload = str(error)
    else:
        payload = None
    try:
        check_annotations(path, SAMPLES, tests, types)
    except AnnotationError as error:
        ours = str(error)
    else:
        ours = None
    assert (ours is None) == (payload is None), (ours, payload)
    if ours is not None:
        # The same place: the file, the line and the field when the payload names them.
        where = payload.split(": ", 2)
        assert ours.startswith(where[0] + ": ")
        if where[1].startswith("line"):
            assert ours.split(": ", 2)[1] == where[1], (ours, payload)


def test_a_column_of_missing_values_only_is_ordinal_as_in_the_payload(tmp_path: Path, read_annotations) -> None:
    content = "Sample\tEmpty\tTreatment\ns1\tNA\tA\ns2\tNA\tB\ns3\tNA\tA\n"
    found = check_annotations(amx(tmp_path, content), SAMPLES)
    assert found["types"] == {"Empty": "ordinal", "Treatment": "categorical"}
    read, _ = read_annotations
    notes = read(str(amx(tmp_path, content)), SAMPLES, ["Empty", "Treatment"], {}, "\t", "NA")
    assert {t.feature: t.type for t in notes.tests} == found["types"]
