"""Every key with a wrong type or an impossible value gives a clear error (property-based)."""

import math
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiced.config import SECTIONS, Settings, merge_layer
from voiced.errors import ConfigError

KEYS = [(section, f.name, str(f.type)) for section, cls in SECTIONS.items() for f in fields(cls)]
SCALARS = {
    "str": st.text(max_size=20),
    "int": st.integers(min_value=-(2**40), max_value=2**40),
    "float": st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6),
    "bool": st.booleans(),
    "list[str]": st.lists(st.text(max_size=10), max_size=4),
    "str | list[str]": st.text(max_size=20) | st.lists(st.text(max_size=10), max_size=4),
}
ANY_VALUE = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _fits(value, kind):
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "str | list[str]":
        return _fits(value, "str") or _fits(value, "list[str]")
    return isinstance(value, {"str": str, "bool": bool}[kind])


def _merge(section, key, value):
    return merge_layer(Settings(), {section: {key: value}}, "test.toml")


@pytest.mark.parametrize(("section", "key", "kind"), KEYS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=ANY_VALUE)
def test_a_value_of_the_wrong_type_is_named_in_one_line(section, key, kind, value):
    if _fits(value, kind):
        return  # the right type: the next test's business
    with pytest.raises(ConfigError) as raised:
        _merge(section, key, value)
    assert raised.value.message.splitlines() == [
        raised.value.message
    ] and raised.value.message.startswith(f"test.toml: {section}.{key}: must be ")


@pytest.mark.parametrize(("section", "key", "kind"), KEYS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_of_the_right_type_is_taken_or_refused_by_name(section, key, kind, data):
    value = data.draw(SCALARS[kind])
    try:
        merged = _merge(section, key, value)
    except ConfigError as exc:
        lines = exc.message.splitlines()
        # this key named; or a rule across keys that names it in its reason, on the line of
        # its pair ("max_tokens: ... under half of context_tokens", "uri: ... with backend =
        # "wyoming"")
        assert any(
            line.startswith(f"test.toml: {section}.{key}: ")
            or (line.startswith(f"test.toml: {section}.") and key in line.split(": ", 2)[2])
            for line in lines
        ), lines
        assert all(line.startswith(f"test.toml: {section}.") for line in lines), lines
        return
    taken = getattr(getattr(merged, section), key)
    if kind == "float":
        assert math.isfinite(taken), f"{section}.{key} took {value!r}"
    assert taken == value or (kind == "float" and taken == float(value))
