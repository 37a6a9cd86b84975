from fractions import Fraction

import pytest

import ligandml


@pytest.mark.parametrize("name, J, gJ, L, S", [
    ("Ce3+", 5 / 2, 6 / 7, 3, 1 / 2),
    ("Nd3+", 9 / 2, 8 / 11, 6, 3 / 2),
    ("Sm3+", 5 / 2, 2 / 7, 5, 5 / 2),
    ("Gd3+", 7 / 2, 2.0, 0, 7 / 2),
    ("Tb3+", 6, 3 / 2, 3, 3),
    ("Dy3+", 15 / 2, 4 / 3, 5, 5 / 2),
    ("Ho3+", 8, 5 / 4, 6, 2),
    ("Er3+", 15 / 2, 6 / 5, 6, 3 / 2),
    ("Tm3+", 6, 7 / 6, 5, 1),
    ("Yb3+", 7 / 2, 8 / 7, 3, 1 / 2),
])
def test_hund_rules_and_lande_factor(name, J, gJ, L, S):
    ion = ligandml.ion(name)
    assert (ion.J, ion.L, ion.S) == (J, L, S)
    assert ion.gJ == pytest.approx(gJ, rel=1e-14)


def test_name_spellings_and_all_thirteen_ions():
    assert ligandml.ion("er").name == ligandml.ion("Er(III)").name == "Er3+"
    dims = [ligandml.ion(el).dim for el in ligandml.LANTHANIDES]
    assert dims == [6, 9, 10, 9, 6, 1, 8, 13, 16, 17, 16, 13, 8]
    assert ligandml.ion("Er3+").kramers and not ligandml.ion("Tb3+").kramers


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Ce3\\+.*Yb3\\+"):
        ligandml.ion("Xx3+")
    with pytest.raises(ValueError, match="valid names"):
        ligandml.ion("Lu3+")  # 4f^14: no ground multiplet to model


def test_custom_ion_and_its_refusals():
    custom = ligandml.ion(J=7 / 2, gJ=2.0)
    assert custom.dim == 8 and custom.gJ == 2.0
    assert Fraction(custom.J) == Fraction(7, 2)
    for bad in (dict(J=0.3, gJ=2), dict(J=-1, gJ=2), dict(J=2, gJ=float("nan")), dict(J=2)):
        with pytest.raises(ValueError):
            ligandml.ion(**bad)
