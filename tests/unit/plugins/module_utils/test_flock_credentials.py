"""Per-pool credentials on the controller: own keys, tokens signed by the other side's key, revocation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from ansible_collections.cloudflock.htcondor.plugins.module_utils import flock_credentials as creds

# Made by condor_token_create of HTCondor 23.9.6 (Debian trixie) in a throw-away container:
#   condor_store_cred add -c -p <KEY> -f /etc/condor/passwords.d/alpha
#   condor_token_create -identity x@cloudflock -key alpha -authz READ -authz NEGOTIATOR
CONDOR_KEY = "m2AZjQnRSRE1upRjhhRr2VEyH2kpEOYyCJ1brwnKxHjRuMcnqtT7Po7iFfDiqGqa"
CONDOR_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFscGhhIn0.eyJpYXQiOjE3OTYxNzAzMjgsImlzcyI6ImNsb3VkZmxvY2siLCJqdGkiOiI4MjA5NGMwNz"
    "lkYjYxYWVmOTE1NDFkMDA5ODVhYTM0NiIsInNjb3BlIjoiY29uZG9yOlwvUkVBRCBjb25kb3I6XC9ORUdPVElBVE9SIiwic3ViIjoieEBjbG91"
    "ZGZsb2NrIn0.Pqi0kiuEXkoasHMqCMJDn94Op0dBf1_o23iSMYuejW4")


def test_a_token_condor_made_verifies_with_the_key_it_was_made_with() -> None:
    assert creds.verify(CONDOR_TOKEN, CONDOR_KEY)
    assert not creds.verify(CONDOR_TOKEN, CONDOR_KEY[:-1] + "x")
    # The POOL key's derivation (the password twice) is not the one of a named key.
    assert not creds.verify(CONDOR_TOKEN, CONDOR_KEY * 2)
    header, payload = creds.decode(CONDOR_TOKEN)
    assert header == {"alg": "HS256", "kid": "alpha"}
    assert payload["sub"] == "x@cloudflock" and payload["scope"] == "condor:/READ condor:/NEGOTIATOR"


def test_a_minted_token_is_what_condor_makes_for_the_same_claims() -> None:
    _, payload = creds.decode(CONDOR_TOKEN)
    again = creds.mint(CONDOR_KEY, "alpha", "x@cloudflock", "cloudflock", ("READ", "NEGOTIATOR"),
                       issued_at=payload["iat"], token_id=payload["jti"])
    assert creds.decode(again) == creds.decode(CONDOR_TOKEN)
    assert creds.verify(again, CONDOR_KEY)


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text().strip()


def claims(root: Path, relative: str) -> tuple[dict, dict]:
    return creds.decode(read(root, relative))


@pytest.fixture
def federation(tmp_path: Path) -> tuple[Path, dict]:
    result = creds.converge(tmp_path, "submitter", ["executor1", "executor2"], "cloudflock")
    return tmp_path, result


def test_every_pool_has_its_own_key_and_only_its_own(federation: tuple[Path, dict]) -> None:
    root, result = federation
    assert result["changed"] and result["revoked"] == {} and result["revoked_pools"] == []
    keys = {pool: read(root, f"pools/{pool}/key") for pool in ("submitter", "executor1", "executor2")}
    assert len(set(keys.values())) == 3 and all(len(key) == 64 for key in keys.values())
    assert result["pools"] == {
        "submitter": ["submitter/key", "submitter/tokens/executor1", "submitter/tokens/executor2",
                      "submitter/user-tokens/executor1", "submitter/user-tokens/executor2"],
        "executor1": ["executor1/key", "executor1/tokens/submitter"],
        "executor2": ["executor2/key", "executor2/tokens/submitter"],
    }
    for pool, files in result["pools"].items():
        for name in files:
            text = read(root, f"pools/{name}")
            own_key = name == f"{pool}/key"
            assert not any(key in text for other, key in keys.items() if other != pool or not own_key), name
    for path in root.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_tokens_are_signed_by_the_other_side_and_name_only_what_flocking_needs(
        federation: tuple[Path, dict]) -> None:
    root, _ = federation
    key = {pool: read(root, f"pools/{pool}/key") for pool in ("submitter", "executor1", "executor2")}
    for executor in ("executor1", "executor2"):
        header, payload = claims(root, f"pools/submitter/tokens/{executor}")
        assert header["kid"] == executor
        assert creds.verify(read(root, f"pools/submitter/tokens/{executor}"), key[executor])
        assert payload["sub"] == "submitter@cloudflock" and payload["scope"] == "condor:/ADVERTISE_SCHEDD condor:/READ"
        assert payload["iss"] == "cloudflock" and "exp" not in payload
        header, payload = claims(root, f"pools/submitter/user-tokens/{executor}")
        assert header["kid"] == executor and payload["scope"] == "condor:/READ"
        header, payload = claims(root, f"pools/{executor}/tokens/submitter")
        assert header["kid"] == "submitter"
        assert creds.verify(read(root, f"pools/{executor}/tokens/submitter"), key["submitter"])
        assert payload["sub"] == f"{executor}@cloudflock" and payload["scope"] == "condor:/NEGOTIATOR"
    paths = ("pools/submitter/tokens/executor1", "pools/executor1/tokens/submitter", "pools/executor2/tokens/submitter")
    jtis = [claims(root, path)[1]["jti"] for path in paths]
    assert len(set(jtis)) == 3


def test_a_second_run_changes_nothing(federation: tuple[Path, dict]) -> None:
    root, first = federation
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    again = creds.converge(root, "submitter", ["executor1", "executor2"], "cloudflock")
    assert not again["changed"], again["changes"]
    assert again["pools"] == first["pools"]
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_a_pool_taken_out_is_revoked_and_comes_back_with_fresh_credentials(federation: tuple[Path, dict]) -> None:
    root, _ = federation
    old_key = read(root, "pools/executor2/key")
    _, old_token = claims(root, "pools/executor2/tokens/submitter")
    kept = read(root, "pools/executor1/tokens/submitter")
    out = creds.converge(root, "submitter", ["executor1"], "cloudflock")
    assert out["revoked_pools"] == ["executor2"]
    # The submitter refuses its token from now on; nothing signed with its key is kept.
    assert out["revoked"] == {"submitter": [old_token["jti"]]}
    assert json.loads(read(root, "revoked.json")) == out["revoked"]
    assert not (root / "pools/executor2").exists()
    assert not (root / "pools/submitter/tokens/executor2").exists()
    assert not (root / "pools/submitter/user-tokens/executor2").exists()
    assert read(root, "pools/executor1/tokens/submitter") == kept

    back = creds.converge(root, "submitter", ["executor1", "executor2"], "cloudflock")
    assert back["revoked_pools"] == [] and back["revoked"] == out["revoked"]
    assert read(root, "pools/executor2/key") != old_key
    _, new_token = claims(root, "pools/executor2/tokens/submitter")
    assert new_token["jti"] != old_token["jti"] and new_token["sub"] == "executor2@cloudflock"


def test_a_changed_trust_domain_mints_every_token_again_and_revokes_the_old(federation: tuple[Path, dict]) -> None:
    root, _ = federation
    _, old = claims(root, "pools/executor1/tokens/submitter")
    out = creds.converge(root, "submitter", ["executor1", "executor2"], "lab.example")
    _, new = claims(root, "pools/executor1/tokens/submitter")
    assert new["sub"] == "executor1@lab.example" and new["iss"] == "lab.example"
    assert old["jti"] in out["revoked"]["submitter"]
    assert len(out["revoked"]["executor1"]) == 2  # the submitter's daemon and user tokens of it


def test_check_mode_says_what_would_change_and_writes_nothing(tmp_path: Path) -> None:
    out = creds.converge(tmp_path, "submitter", ["executor1"], "cloudflock", dry_run=True)
    assert out["changed"] and "wrote pools/executor1/key" in out["changes"]
    assert out["pools"]["executor1"] == ["executor1/key", "executor1/tokens/submitter"]
    assert list(tmp_path.iterdir()) == []


def test_teardown_deletes_every_credential_and_the_shared_key_of_earlier_versions(
        federation: tuple[Path, dict]) -> None:
    root, _ = federation
    (root / creds.LEGACY_KEY_FILE).write_text("the key every pool shared\n")
    creds.converge(root, "submitter", ["executor1"], "cloudflock")
    assert not (root / creds.LEGACY_KEY_FILE).exists()
    gone = creds.remove_all(root)
    assert gone["changed"] and gone["revoked_pools"] == ["executor1", "submitter"]
    assert list(root.iterdir()) == []
    assert not creds.remove_all(root)["changed"]


@pytest.mark.parametrize(("submitter", "executors", "message"), [
    ("submitter", ["condor"], "pool 'condor': HTCondor's own daemons and users are called condor@<domain>"),
    ("root", ["executor1"], "pool 'root'"),
    ("submitter", ["Executor_1"], "pool 'Executor_1': a pool id is lower-case letters, digits and dashes"),
    ("submitter", ["executor1", "executor1"], "pool 'executor1' is named more than once"),
])
def test_pools_that_cannot_be_identities_are_refused(tmp_path: Path, submitter: str, executors: list[str],
                                                     message: str) -> None:
    with pytest.raises(creds.CredentialsError, match=message):
        creds.converge(tmp_path, submitter, executors, "cloudflock")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_revocation_list_is_named(federation: tuple[Path, dict]) -> None:
    root, _ = federation
    (root / "revoked.json").write_text("[1, 2")
    with pytest.raises(creds.CredentialsError, match="revoked.json: not JSON"):
        creds.converge(root, "submitter", ["executor1"], "cloudflock")


def test_a_first_run_makes_the_directory_and_its_parents(tmp_path: Path) -> None:
    # The default, ~/.config/cloudflock/<deployment>, on a machine where ~/.config/cloudflock does not exist.
    root = tmp_path / "home" / ".config" / "cloudflock" / "fed"
    result = creds.converge(root, "submitter", ["executor1"], "cloudflock")
    assert result["changed"]
    assert (root / "pools" / "submitter" / "key").is_file()
    assert root.stat().st_mode & 0o777 == 0o700
