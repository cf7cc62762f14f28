"""The Linkerd port-list parser and the merge that builds fix values."""

import pytest
from cachemesh_policy.annotations import merge_port_list, parse_port_list


def test_comma_separated_ports_are_each_covered() -> None:
    parsed = parse_port_list("10800,47100,47500")
    assert parsed.ok
    assert all(parsed.covers(p) for p in (10800, 47100, 47500))


def test_spaces_around_entries_are_trimmed() -> None:
    parsed = parse_port_list(" 10800 , 47100 ,47500,")
    assert parsed.entries == ("10800", "47100", "47500")
    assert parsed.ok and parsed.covers(47500)


def test_spaces_between_ports_do_not_separate_them() -> None:
    # Linkerd splits on commas only (pkg/util/parsing.go GetPortRanges): "47100 47500" is one
    # entry it cannot parse, so neither port is opaque.
    parsed = parse_port_list("10800,47100 47500")
    assert parsed.entries == ("10800", "47100 47500")
    assert not parsed.ok
    assert not parsed.covers(47100) and not parsed.covers(47500)


def test_range_covers_its_ends_and_inside_but_not_outside() -> None:
    parsed = parse_port_list("47100-47200")
    assert parsed.covers(47100) and parsed.covers(47150) and parsed.covers(47200)
    assert not parsed.covers(47201)


def test_named_port_resolves_against_container_port_names() -> None:
    parsed = parse_port_list("tcp-discovery")
    assert parsed.covers(47500, {"tcp-discovery": 47500})
    assert not parsed.covers(47500)


def test_unresolved_names_are_reported() -> None:
    parsed = parse_port_list("tcp-discovery,nope")
    assert parsed.unresolved_names({"tcp-discovery": 47500}) == ("nope",)


def test_empty_entries_are_ignored() -> None:
    parsed = parse_port_list("10800,,47100,")
    assert parsed.ok
    assert parsed.entries == ("10800", "47100")


def test_empty_value_lists_nothing() -> None:
    parsed = parse_port_list("")
    assert parsed.ok and not parsed.covers(10800)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("70000", "out of range"),
        ("0", "out of range"),
        ("47200-47100", "start is after its end"),
        ("47100-99999", "range outside"),
        ("10800;47100", "not a port"),
        ("-5", "not a port"),
        ("Tcp_Discovery", "not a port"),
    ],
)
def test_garbage_entry_is_an_error_not_an_exception(value: str, fragment: str) -> None:
    parsed = parse_port_list(value)
    assert not parsed.ok
    assert fragment in parsed.errors[0]
    assert parsed.invalid == (value,)


def test_non_string_value_is_an_error() -> None:
    assert not parse_port_list(10800).ok


def test_names_are_errors_where_names_are_not_allowed() -> None:
    parsed = parse_port_list("true", allow_names=False)
    assert not parsed.ok
    assert "not a port or a range" in parsed.errors[0]


def test_merge_keeps_existing_entries_and_appends_missing_sorted() -> None:
    assert merge_port_list("8080, 47100-47200", [47500, 10800]) == "8080,47100-47200,10800,47500"


def test_merge_drops_unparseable_entries() -> None:
    assert merge_port_list("10800,bad;entry", [47100]) == "10800,47100"


def test_merge_of_absent_value_is_the_missing_ports() -> None:
    assert merge_port_list(None, [47500, 10800, 47100]) == "10800,47100,47500"


def test_merge_does_not_duplicate_a_listed_port() -> None:
    assert merge_port_list("10800", [10800, 47100]) == "10800,47100"
