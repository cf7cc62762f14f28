"""pki/pem.py reads PEM as Go's encoding/pem.Decode does (golang/go src/encoding/pem/pem.go
@08b16d70), which is how Linkerd's Go components read certificates and keys."""

from __future__ import annotations

from linkerd_testing import make_cert

from pki import pem


def _pem() -> str:
    return make_cert("root.linkerd.cluster.local").cert_pem


def test_text_before_and_between_blocks_is_skipped():
    one, two = _pem(), _pem()
    found, rest = pem.blocks(f"comment\n{one}between\n{two}")
    assert [b.type for b in found] == ["CERTIFICATE", "CERTIFICATE"] and rest == ""


def test_crlf_line_ends_decode_to_the_same_block():
    text = _pem()
    assert pem.blocks(text.replace("\n", "\r\n"))[0] == pem.blocks(text)[0]


def test_text_after_the_last_block_is_left_as_rest():
    found, rest = pem.blocks(_pem() + "trailing\n")
    assert len(found) == 1 and rest == "trailing\n"


def test_a_block_whose_body_is_not_base64_is_not_a_block():
    broken = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
    found, rest = pem.blocks(broken)
    assert found == [] and rest == broken


def test_an_end_line_of_another_type_is_not_an_end():
    body = _pem().replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----")
    assert pem.blocks(body)[0] == []


def test_encode_round_trips_go_style():
    text = _pem()
    block = pem.blocks(text)[0][0]
    assert block.encode() == text
